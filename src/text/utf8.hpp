// Internal: UTF-8 as Unicode defines it (table 3-7: no overlong forms, no surrogates, nothing
// past U+10FFFF), for the text escaping and the JSON formatter.
#pragma once

#include <cstddef>

namespace pipemux::detail {

/// Length of the well-formed UTF-8 sequence of a character at or above U+0080 starting at
/// `p` (of `n` bytes), or 0 when there is none.
inline std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char lead = p[0];
  const auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  const bool two = lead >= 0xC2 && lead <= 0xDF && cont(1);
  const bool three =
      (lead == 0xE0 && cont(1, 0xA0) && cont(2)) ||
      (((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) && cont(1) && cont(2)) ||
      (lead == 0xED && cont(1, 0x80, 0x9F) && cont(2));
  const bool four = (lead == 0xF0 && cont(1, 0x90) && cont(2) && cont(3)) ||
                    (lead >= 0xF1 && lead <= 0xF3 && cont(1) && cont(2) && cont(3)) ||
                    (lead == 0xF4 && cont(1, 0x80, 0x8F) && cont(2) && cont(3));
  return two ? 2 : three ? 3 : four ? 4 : 0;
}

}  // namespace pipemux::detail
