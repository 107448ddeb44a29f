// Tests for include/pipemux/escape.hpp.
#include <gtest/gtest.h>

#include <random>

#include "pipemux/escape.hpp"

namespace pipemux {
namespace {

std::string escaped(std::string_view text) {
  std::string out;
  escape_into(text, out);
  return out;
}

TEST(Escape, PrintableAsciiAndUtf8PassThrough) {
  for (std::string_view text : {"Spam 0", "", "ünïcödé ✓ 日本語 😀", "a~b{c}"}) {
    EXPECT_FALSE(needs_escape(text)) << text;
    EXPECT_EQ(escaped(text), text);
  }
}

TEST(Escape, ControlBytesAndBackslashAreEscaped) {
  EXPECT_EQ(escaped("a\tb\rc\nd"), "a\\tb\\rc\\nd");
  EXPECT_EQ(escaped("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escaped(std::string_view("\0\x1b[31m\x7f", 7)), "\\x00\\x1b[31m\\x7f");
  EXPECT_TRUE(needs_escape("\x1b"));
  EXPECT_TRUE(needs_escape("\\"));
}

TEST(Escape, MalformedUtf8AndC1ControlsAreEscapedBytewise) {
  EXPECT_EQ(escaped("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(escaped("\xc3"), "\\xc3");                    // truncated sequence
  EXPECT_EQ(escaped("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  EXPECT_EQ(escaped("\xc2\x9b"), "\\xc2\\x9b");           // C1 CSI: terminals act on it
  EXPECT_EQ(escaped("\xc2\xa0"), "\xc2\xa0");             // no-break space is fine
}

TEST(Escape, UnescapeGivesBackEveryByte) {
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(unescape(escaped(one)), one) << "byte " << c;
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 5000; ++round) {
    std::string bytes(rng() % 40, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng() % 256);
    ASSERT_EQ(unescape(escaped(bytes)), bytes);
  }
}

TEST(Escape, UnescapeRejectsWhatEscapeNeverWrites) {
  EXPECT_FALSE(unescape("trailing\\"));
  EXPECT_FALSE(unescape("\\q"));
  EXPECT_FALSE(unescape("\\x4"));
  EXPECT_FALSE(unescape("\\xZZ"));
}

}  // namespace
}  // namespace pipemux
