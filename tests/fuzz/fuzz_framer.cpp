// libFuzzer harness for the line framer: random input delivered in random splits.
// Oracle: the pieces joined (with '\n' after each whole line) equal the input, no piece is
// longer than max_line, only the last piece can be partial, and the splits change nothing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "framing.hpp"
#include "pipemux/framer.hpp"

namespace {

using pipemux::test::frame;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // The first byte picks max_line, the second seeds where the reads end.
  const std::size_t max_line = 1 + data[0] % 64;
  std::uint32_t seed = data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < input.size(); ++i) {
    seed = seed * 1103515245u + 12345u;
    if ((seed >> 16) % 4 == 0) cuts.push_back(i);
  }
  const auto pieces = frame(input, cuts, max_line);
  std::string joined;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    check(pieces[i].bytes.size() <= max_line);
    check(pieces[i].kind != pipemux::piece_kind::partial || i + 1 == pieces.size());
    check(pieces[i].kind != pipemux::piece_kind::chunk);
    joined += pieces[i].bytes;
    if (pieces[i].kind == pipemux::piece_kind::line) joined += '\n';
  }
  check(joined == input);
  check(pieces == frame(input, {}, max_line));
  return 0;
}
