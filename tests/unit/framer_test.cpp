// Tests for include/pipemux/framer.hpp: pure logic, no processes.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "framing.hpp"
#include "pipemux/framer.hpp"

namespace pipemux {
namespace {

using test::frame;
using test::piece;

// What every stream must satisfy: the pieces give back the input exactly, none is longer than
// max_line, and only the last can be partial.
void expect_lossless(std::string_view input, const std::vector<piece>& pieces,
                     std::size_t max_line) {
  std::string joined;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_LE(pieces[i].bytes.size(), max_line);
    if (pieces[i].kind == piece_kind::partial) EXPECT_EQ(i, pieces.size() - 1);
    joined += pieces[i].bytes;
    if (pieces[i].kind == piece_kind::line) joined += '\n';
  }
  EXPECT_EQ(joined, input);
}

const std::string mixed_input = "alpha\nbeta\n\n\ngamma\r\n\tdelta\nlast";
const std::vector<piece> mixed_expected = {
    {"alpha", piece_kind::line},   {"beta", piece_kind::line},    {"", piece_kind::line},
    {"", piece_kind::line},        {"gamma\r", piece_kind::line}, {"\tdelta", piece_kind::line},
    {"last", piece_kind::partial},
};

TEST(LineFramer, WholeInputInOneRead) {
  EXPECT_EQ(frame(mixed_input, {}, 64), mixed_expected);
}

TEST(LineFramer, EverySingleSplitPoint) {
  for (std::size_t cut = 0; cut <= mixed_input.size(); ++cut)
    EXPECT_EQ(frame(mixed_input, {cut}, 64), mixed_expected) << "cut at " << cut;
}

TEST(LineFramer, EveryPairOfSplitPoints) {
  for (std::size_t a = 0; a <= mixed_input.size(); ++a)
    for (std::size_t b = a; b <= mixed_input.size(); ++b)
      ASSERT_EQ(frame(mixed_input, {a, b}, 64), mixed_expected) << "cuts at " << a << ", " << b;
}

TEST(LineFramer, OneByteReads) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < mixed_input.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(frame(mixed_input, cuts, 64), mixed_expected);
}

TEST(LineFramer, CarriageReturnIsKeptAsData) {
  EXPECT_EQ(frame("a\r\nb\r\n", {}, 64),
            (std::vector<piece>{{"a\r", piece_kind::line}, {"b\r", piece_kind::line}}));
}

TEST(LineFramer, EmptyStreamAndEmptyLines) {
  EXPECT_TRUE(frame("", {}, 8).empty());
  EXPECT_EQ(frame("\n\n", {1}, 8),
            (std::vector<piece>{{"", piece_kind::line}, {"", piece_kind::line}}));
}

TEST(LineFramer, PartialFinalLineIsDeliveredOnlyAtTheEnd) {
  line_framer framer(16);
  std::vector<piece> out;
  auto collect = [&](std::string_view b, piece_kind k) { out.push_back({std::string(b), k}); };
  framer.feed("no newline yet", collect);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(framer.pending_size(), 14u);
  framer.finish(collect);
  EXPECT_EQ(out, (std::vector<piece>{{"no newline yet", piece_kind::partial}}));
  framer.finish(collect);  // nothing twice
  EXPECT_EQ(out.size(), 1u);
}

TEST(LineFramer, OverlongLineIsDeliveredInPiecesNeverDropped) {
  const std::vector<piece> expected = {
      {"abcd", piece_kind::continued}, {"efgh", piece_kind::continued}, {"ij", piece_kind::line},
      {"wxyz", piece_kind::line},      {"0123", piece_kind::continued}, {"45", piece_kind::partial},
  };
  const std::string input = "abcdefghij\nwxyz\n012345";
  // The same pieces whatever the reads were.
  for (std::size_t a = 0; a <= input.size(); ++a)
    for (std::size_t b = a; b <= input.size(); ++b)
      ASSERT_EQ(frame(input, {a, b}, 4), expected) << "cuts at " << a << ", " << b;
}

TEST(LineFramer, LineOfExactlyMaxLineIsWhole) {
  EXPECT_EQ(frame("abcd\n", {2}, 4), (std::vector<piece>{{"abcd", piece_kind::line}}));
  EXPECT_EQ(frame("abcdefgh\n", {}, 4),
            (std::vector<piece>{{"abcd", piece_kind::continued}, {"efgh", piece_kind::line}}));
  EXPECT_EQ(frame("abcd", {}, 4), (std::vector<piece>{{"abcd", piece_kind::partial}}));
}

TEST(LineFramer, CarryOverNeverExceedsMaxLine) {
  line_framer framer(8);
  std::size_t delivered = 0;
  for (int i = 0; i < 100; ++i) {
    framer.feed("xyz", [&](std::string_view b, piece_kind) { delivered += b.size(); });
    EXPECT_LE(framer.pending_size(), 8u);
  }
  EXPECT_EQ(delivered + framer.pending_size(), 300u);
}

TEST(LineFramer, RandomInputsAndSplitsAreLossless) {
  std::mt19937 rng(20261129);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t max_line = 1 + rng() % 12;
    std::string input(rng() % 64, '\0');
    for (auto& c : input) c = "ab\n\r\0x"[rng() % 6];
    std::vector<std::size_t> cuts;
    for (std::size_t i = 0; i < input.size(); ++i)
      if (rng() % 3 == 0) cuts.push_back(i);
    const auto pieces = frame(input, cuts, max_line);
    expect_lossless(input, pieces, max_line);
    ASSERT_EQ(pieces, frame(input, {}, max_line)) << "splits changed the pieces";
  }
}

// The framing rules written the plain way, for whole inputs: each line cut into max_line
// pieces (all but the last `continued`), a last line without '\n' ending `partial`.
std::vector<piece> frame_plainly(std::string_view input, std::size_t max_line) {
  std::vector<piece> out;
  while (!input.empty()) {
    const std::size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    while (line.size() > max_line) {
      out.push_back({std::string(line.substr(0, max_line)), piece_kind::continued});
      line.remove_prefix(max_line);
    }
    out.push_back(
        {std::string(line), nl == std::string_view::npos ? piece_kind::partial : piece_kind::line});
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
  }
  return out;
}

// Long reads, where newlines are found 16 bytes at a time: at every position in a block,
// several in one block, lines longer than a block and than max_line, reads cut anywhere.
TEST(LineFramer, LongReadsGiveThePiecesOfThePlainRules) {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 3000; ++round) {
    const std::size_t max_line = 1 + rng() % 40;
    const unsigned newline_odds = 2 + rng() % 30;  // 1 in N bytes
    std::string input(rng() % 300, 'x');
    for (auto& c : input)
      if (rng() % newline_odds == 0) c = '\n';
    std::vector<std::size_t> cuts;
    for (std::size_t i = 0; i < input.size(); ++i)
      if (rng() % 40 == 0) cuts.push_back(i);
    ASSERT_EQ(frame(input, {}, max_line), frame_plainly(input, max_line))
        << "max_line " << max_line << " input " << input;
    ASSERT_EQ(frame(input, cuts, max_line), frame_plainly(input, max_line))
        << "max_line " << max_line << " input " << input;
  }
}

}  // namespace
}  // namespace pipemux
