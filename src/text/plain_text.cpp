#include "text/plain_text.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pipemux::detail {
namespace {

#if defined(__SSE2__)
// The bytes of a 16-byte block that are not plain (as a mask, one bit a byte), and its newlines.
// A signed compare with 0x20 catches the C0 controls and every byte >= 0x80 at once.
struct block_bytes {
  unsigned special;
  unsigned newlines;
};

block_bytes classify(const unsigned char* p) noexcept {
  __m128i v;
  std::memcpy(&v, p, sizeof v);
  const __m128i newline = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
  const __m128i control = _mm_andnot_si128(newline, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  const __m128i other =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return {static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, other))),
          static_cast<unsigned>(_mm_movemask_epi8(newline))};
}
#endif

}  // namespace

std::optional<std::size_t> plain_ascii_newlines(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t newlines = 0;
#if defined(__SSE2__)
  for (; n >= 16; p += 16, n -= 16) {
    const block_bytes block = classify(p);
    if (block.special != 0) return std::nullopt;
    newlines += static_cast<std::size_t>(__builtin_popcount(block.newlines));
  }
#endif
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = p[i];
    if (c == '\n')
      ++newlines;
    else if (c < 0x20 || c >= 0x7F || c == '\\')
      return std::nullopt;
  }
  return newlines;
}

}  // namespace pipemux::detail
