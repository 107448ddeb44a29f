// Internal: Unicode's bidirectional controls, which reorder the text around them on a
// terminal (a RIGHT-TO-LEFT OVERRIDE in "gpj<RLO>exe.sh" shows "gpjhs.exe"): for the escaping
// of names, in text and in JSON.
#pragma once

#include <cstddef>
#include <string_view>

namespace pipemux::detail {

struct bidi_control {
  std::size_t length = 0;  ///< bytes of its UTF-8 form; 0: none here
  char32_t code = 0;
};

/// The bidirectional control whose UTF-8 form starts at `text[at]`: U+061C, U+200E, U+200F,
/// U+202A-U+202E or U+2066-U+2069; {0, 0} when there is none.
inline bidi_control bidi_control_at(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t i) -> unsigned char {
    return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0;
  };
  if (byte(0) == 0xD8 && byte(1) == 0x9C) return {2, U'\u061C'};
  if (byte(0) != 0xE2) return {};
  const unsigned char last = byte(2);
  if (byte(1) == 0x80 && (last == 0x8E || last == 0x8F || (last >= 0xAA && last <= 0xAE)))
    return {3, static_cast<char32_t>(0x2000 + (last - 0x80))};
  if (byte(1) == 0x81 && last >= 0xA6 && last <= 0xA9)
    return {3, static_cast<char32_t>(0x2040 + (last - 0x80))};
  return {};
}

}  // namespace pipemux::detail
