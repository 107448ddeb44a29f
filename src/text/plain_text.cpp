#include "text/plain_text.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pipemux::detail {
namespace {

#if defined(__SSE2__)
// The bytes of a 16-byte block that are not plain (as a mask, one bit a byte), and its newlines
// (0xFF in each newline's byte). A signed compare with 0x20 catches the C0 controls and every
// byte >= 0x80 at once.
struct block_bytes {
  unsigned special;
  __m128i newlines;
};

block_bytes classify(const unsigned char* p) noexcept {
  __m128i v;
  std::memcpy(&v, p, sizeof v);
  const __m128i newline = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
  const __m128i control = _mm_andnot_si128(newline, _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  const __m128i other =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  return {static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(control, other))), newline};
}

// The sum of the 16 byte counters.
std::size_t sum_of_lanes(__m128i lanes) noexcept {
  const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());  // two 64-bit halves
  return static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) +
         static_cast<std::size_t>(_mm_extract_epi16(sums, 4));
}

// The bytes of a 16-byte block that a JSON string cannot hold as they are, as a mask.
unsigned json_special(const unsigned char* p) noexcept {
  __m128i v;
  std::memcpy(&v, p, sizeof v);
  const __m128i below_space_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  const __m128i quote_or_backslash =
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
  const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F));
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_or_si128(below_space_or_high, _mm_or_si128(quote_or_backslash, del))));
}
#endif

}  // namespace

bool plain_json_string(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
#if defined(__SSE2__)
  for (; n >= 16; p += 16, n -= 16)
    if (json_special(p) != 0) return false;
#endif
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] < 0x20 || p[i] >= 0x7F || p[i] == '"' || p[i] == '\\') return false;
  return true;
}

std::optional<std::size_t> plain_ascii_newlines(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t newlines = 0;
#if defined(__SSE2__)
  // Newlines are counted in byte counters (a newline's 0xFF subtracted adds one), summed
  // before one could wrap: x86-64's baseline has no popcount instruction, and libgcc's
  // function for it was 3% of the CLI's time.
  __m128i counters = _mm_setzero_si128();
  unsigned blocks_counted = 0;
  for (; n >= 16; p += 16, n -= 16) {
    const block_bytes block = classify(p);
    if (block.special != 0) return std::nullopt;
    counters = _mm_sub_epi8(counters, block.newlines);
    if (++blocks_counted == 255) {
      newlines += sum_of_lanes(counters);
      counters = _mm_setzero_si128();
      blocks_counted = 0;
    }
  }
  newlines += sum_of_lanes(counters);
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
