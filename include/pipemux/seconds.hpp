// Seconds as the config file and the flags give them, and the milliseconds pipemux keeps:
// one rounding for both, so that `--stop-grace 0.0015` and `stop_grace = 0.0015` agree.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace pipemux {

/// Whether `text` is a plain decimal number: digits, then optionally a point and more digits
/// ("5", "0.25"); no sign, space, exponent, hex, "inf" or "nan".
bool is_plain_decimal(std::string_view text) noexcept;

/// Plain decimal seconds in milliseconds, rounded to the nearest, a half up ("0.0005" is 1 ms,
/// "0.0004999" is 0), exactly as written whatever the digits. Nullopt when `text` is not plain
/// decimal or passes a billion seconds.
std::optional<std::chrono::milliseconds> decimal_seconds_to_milliseconds(
    std::string_view text) noexcept;

/// A number of seconds (a TOML value) in milliseconds, rounded as its shortest decimal form is
/// by decimal_seconds_to_milliseconds: 0.5005 is 501 ms, as "0.5005" is, though the double
/// nearest 0.5005 is a little less. Nullopt when `seconds` is negative, not finite or passes a
/// billion.
std::optional<std::chrono::milliseconds> seconds_to_milliseconds(double seconds) noexcept;

}  // namespace pipemux
