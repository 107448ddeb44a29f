// libFuzzer harness for the escaping of child output in the text log: what is written holds
// no control byte, and decoding it gives back the original bytes; needs_escape says exactly
// whether escaping changes anything.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "pipemux/escape.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string escaped;
  pipemux::escape_into(input, escaped);
  for (unsigned char c : escaped)
    if (c < 0x20 || c == 0x7f) std::abort();
  // needs_escape is exact both ways (its fast path must not call plain what escaping changes).
  if (pipemux::needs_escape(input) != (escaped != input)) std::abort();
  const auto decoded = pipemux::unescape(escaped);
  if (!decoded || *decoded != input) std::abort();
  return 0;
}
