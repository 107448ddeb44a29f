// Tests for include/pipemux/escape.hpp and its fast check, src/plain_text.hpp.
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "pipemux/escape.hpp"
#include "text/plain_text.hpp"

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

// The sixteen-at-a-time check agrees with the byte-by-byte definition for every byte value at
// every position of texts of every length around its block size, and counts every newline.
TEST(PlainText, EveryByteAtEveryPositionIsJudgedAsByteByByte) {
  const auto by_bytes = [](std::string_view text) -> std::optional<std::size_t> {
    std::size_t newlines = 0;
    for (unsigned char c : text) {
      if (c == '\n')
        ++newlines;
      else if (c < 0x20 || c >= 0x7F || c == '\\')
        return std::nullopt;
    }
    return newlines;
  };
  for (std::size_t size = 0; size <= 70; ++size) {
    // Newlines at a few fixed places, so that counts cross block boundaries.
    std::string text(size, 'x');
    for (std::size_t at = 3; at < size; at += 7) text[at] = '\n';
    ASSERT_EQ(detail::plain_ascii_newlines(text), by_bytes(text)) << size;
    for (std::size_t at = 0; at < size; ++at) {
      const char kept = text[at];
      for (int c = 0; c < 256; ++c) {
        text[at] = static_cast<char>(c);
        ASSERT_EQ(detail::plain_ascii_newlines(text), by_bytes(text))
            << "byte " << c << " at " << at << " of " << size;
      }
      text[at] = kept;
    }
  }
}

// JSON's check, sixteen at a time too, against its definition: every byte value at every
// position of texts around the block size.
TEST(PlainText, APlainJsonStringIsJudgedAsByteByByte) {
  const auto by_bytes = [](std::string_view text) {
    for (unsigned char c : text)
      if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') return false;
    return true;
  };
  for (std::size_t size = 0; size <= 40; ++size) {
    std::string text(size, 'q');
    ASSERT_TRUE(detail::plain_json_string(text)) << size;
    for (std::size_t at = 0; at < size; ++at) {
      for (int c = 0; c < 256; ++c) {
        text[at] = static_cast<char>(c);
        ASSERT_EQ(detail::plain_json_string(text), by_bytes(text))
            << "byte " << c << " at " << at << " of " << size;
      }
      text[at] = 'q';
    }
  }
}

// Newlines are counted sixteen at a time in byte-sized counters: a read of nothing but
// newlines, longer than 255 blocks (where a counter would wrap), is counted exactly.
TEST(PlainText, EveryNewlineOfALongReadIsCounted) {
  for (const std::size_t size : {4079u, 4080u, 4081u, 4096u, 8161u, 65536u}) {
    EXPECT_EQ(detail::plain_ascii_newlines(std::string(size, '\n')), size);
    std::string mixed(size, 'y');
    std::size_t expected = 0;
    for (std::size_t at = 0; at < size; at += 2, ++expected) mixed[at] = '\n';
    EXPECT_EQ(detail::plain_ascii_newlines(mixed), expected) << size;
  }
}

TEST(PlainText, NeedsEscapeStaysExactOverLongTexts) {
  std::mt19937 rng(11);
  for (int round = 0; round < 3000; ++round) {
    std::string text(rng() % 200, 'a');
    // A few bytes of any value, often none: most texts are plain, some hold UTF-8.
    for (int k = static_cast<int>(rng() % 4); k > 0 && !text.empty(); --k)
      text[rng() % text.size()] = static_cast<char>(rng() % 256);
    if (round % 5 == 0) text += "caf\xc3\xa9 \xe2\x9c\x93";
    std::string out;
    escape_into(text, out);
    ASSERT_EQ(needs_escape(text), out != text) << escaped(text);
  }
}

TEST(Escape, UnescapeRejectsWhatEscapeNeverWrites) {
  EXPECT_FALSE(unescape("trailing\\"));
  EXPECT_FALSE(unescape("\\q"));
  EXPECT_FALSE(unescape("\\x4"));
  EXPECT_FALSE(unescape("\\xZZ"));
}

TEST(Escape, AChildsColoursAreKeptStrippedOrEscapedAndNothingElsePasses) {
  // An SGR colour, a bell, a title-setting OSC and an SGR left unfinished at the end.
  const std::string text = "\x1b[1;31mred\x1b[0m \a \x1b]0;title\a \x1b[38:5:2mx \x1b[3";
  const auto with = [&](ansi_mode mode) {
    std::string out;
    escape_into(text, out, mode);
    return out;
  };
  EXPECT_EQ(with(ansi_mode::escape), escaped(text));
  EXPECT_EQ(unescape(with(ansi_mode::escape)), text);
  // Kept: the colours, and a reset at the end because the last one left a colour on.
  EXPECT_EQ(with(ansi_mode::keep),
            "\x1b[1;31mred\x1b[0m \\x07 \\x1b]0;title\\x07 \x1b[38:5:2mx \\x1b[3\x1b[0m");
  EXPECT_EQ(with(ansi_mode::strip), "red \\x07 \\x1b]0;title\\x07 x \\x1b[3");
  // A line that resets its own colour gets no second reset; "ESC [m" is a reset too.
  std::string out;
  escape_into("\x1b[32mok\x1b[m", out, ansi_mode::keep);
  EXPECT_EQ(out, "\x1b[32mok\x1b[m");
  out.clear();
  escape_into("\x1b[?25l\x1b[2J", out, ansi_mode::keep);  // not colours: escaped
  EXPECT_EQ(out, "\\x1b[?25l\\x1b[2J");
}

// grep --color and gcc end a coloured match with ESC[K (erase to the end of the line): kept
// with the colours, as is ECH (ESC[nX); what could overwrite the label or other lines is not.
TEST(Escape, SequencesThatStayInTheirPlaceInTheLineAreKeptLikeColours) {
  const std::string text =
      "\x1b[01;31m\x1b[Kmatch\x1b[m\x1b[K \x1b[0K \x1b[4X|"         // kept
      "\x1b[1K \x1b[2K \x1b[2J \x1b[H \x1b[3A \x1b[10G \x1b[4;2X";  // escaped
  const std::string moving = "\\x1b[1K \\x1b[2K \\x1b[2J \\x1b[H \\x1b[3A \\x1b[10G \\x1b[4;2X";
  std::string kept;
  escape_into(text, kept, ansi_mode::keep);
  EXPECT_EQ(kept, "\x1b[01;31m\x1b[Kmatch\x1b[m\x1b[K \x1b[0K \x1b[4X|" + moving);
  std::string stripped;
  escape_into(text, stripped, ansi_mode::strip);
  EXPECT_EQ(stripped, "match  |" + moving);
  std::string escaped_all;
  escape_into(text, escaped_all, ansi_mode::escape);
  EXPECT_EQ(unescape(escaped_all), text);
  // ESC[K after a colour left on: still one reset at the end.
  std::string left_on;
  escape_into("\x1b[32mgo\x1b[K", left_on, ansi_mode::keep);
  EXPECT_EQ(left_on, "\x1b[32mgo\x1b[K\x1b[0m");
}

}  // namespace
}  // namespace pipemux
