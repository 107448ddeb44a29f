// Test support: runs a line_framer over an input cut into reads at given offsets, collecting
// every piece, for the unit tests and the fuzz harness alike.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/framer.hpp"

namespace pipemux::test {

struct piece {
  std::string bytes;
  piece_kind kind;
  bool operator==(const piece&) const = default;
  friend void PrintTo(const piece& p, std::ostream* os) {
    *os << "{\"" << p.bytes << "\", " << static_cast<int>(p.kind) << "}";
  }
};

/// Feeds `input` cut at `cuts` (sorted offsets), then ends the stream.
inline std::vector<piece> frame(std::string_view input, const std::vector<std::size_t>& cuts,
                                std::size_t max_line) {
  line_framer framer(max_line);
  std::vector<piece> out;
  auto collect = [&](std::string_view bytes, piece_kind kind) {
    out.push_back({std::string(bytes), kind});
  };
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    framer.feed(input.substr(from, cut - from), collect);
    from = cut;
  }
  framer.feed(input.substr(from), collect);
  framer.finish(collect);
  return out;
}

}  // namespace pipemux::test
