#include "pipemux/seconds.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

namespace pipemux {
namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view text) noexcept {
  for (char c : text)
    if (!is_digit(c)) return false;
  return !text.empty();
}

// Digits before the point beyond this are more than a billion seconds.
constexpr std::size_t max_whole_digits = 9;

}  // namespace

bool is_plain_decimal(std::string_view text) noexcept {
  const auto point = text.find('.');
  if (point == std::string_view::npos) return all_digits(text);
  return all_digits(text.substr(0, point)) && all_digits(text.substr(point + 1));
}

std::optional<std::chrono::milliseconds> decimal_seconds_to_milliseconds(
    std::string_view text) noexcept {
  if (!is_plain_decimal(text)) return std::nullopt;
  const auto point = text.find('.');
  const std::string_view whole = text.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  const std::size_t leading_zeros = std::min(whole.find_first_not_of('0'), whole.size());
  if (whole.size() - leading_zeros > max_whole_digits) return std::nullopt;
  long long millis = 0;
  for (char c : whole) millis = millis * 10 + (c - '0');
  for (std::size_t i = 0; i < 3; ++i)
    millis = millis * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  if (fraction.size() > 3 && fraction[3] >= '5') ++millis;  // a half or more of a millisecond
  return std::chrono::milliseconds(millis);
}

std::optional<std::chrono::milliseconds> seconds_to_milliseconds(double seconds) noexcept {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return std::nullopt;
  if (seconds < 1e-4) return std::chrono::milliseconds(0);  // and its digits may be many
  // The shortest digits that read back as `seconds`: what was written, for any number typed
  // with up to 15 significant digits.
  char digits[64];
  const auto [end, error] =
      std::to_chars(digits, digits + sizeof digits, seconds, std::chars_format::fixed);
  if (error != std::errc()) return std::nullopt;
  return decimal_seconds_to_milliseconds(std::string_view(digits, end - digits));
}

}  // namespace pipemux
