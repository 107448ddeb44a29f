// Tests for include/pipemux/name_escape.hpp: a program's name as it is printed.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "pipemux/escape.hpp"
#include "pipemux/name_escape.hpp"

namespace pipemux {
namespace {

// Each bidirectional control in UTF-8, and how a name shows it: its bytes as \xHH.
const std::pair<const char*, const char*> bidi_controls[] = {
    {"\u061c", "\\xd8\\x9c"},      {"\u200e", "\\xe2\\x80\\x8e"}, {"\u200f", "\\xe2\\x80\\x8f"},
    {"\u202a", "\\xe2\\x80\\xaa"}, {"\u202b", "\\xe2\\x80\\xab"}, {"\u202c", "\\xe2\\x80\\xac"},
    {"\u202d", "\\xe2\\x80\\xad"}, {"\u202e", "\\xe2\\x80\\xae"}, {"\u2066", "\\xe2\\x81\\xa6"},
    {"\u2067", "\\xe2\\x81\\xa7"}, {"\u2068", "\\xe2\\x81\\xa8"}, {"\u2069", "\\xe2\\x81\\xa9"}};

TEST(NameEscape, BidirectionalControlsAreEscapedAndComeBackExactly) {
  for (const auto& [control, shown] : bidi_controls) {
    const std::string name = std::string("web") + control + "gpj.exe";
    EXPECT_TRUE(name_needs_escape(name)) << shown;
    EXPECT_EQ(escaped_name(name), std::string("web") + shown + "gpj.exe");
    EXPECT_EQ(unescape(escaped_name(name)), name) << shown;
  }
}

TEST(NameEscape, EverythingElseIsEscapedAsAChildsTextIs) {
  // Arabic, Hebrew and the characters next to the controls are text, not controls.
  for (const char* name : {"web", "caf\u00e9", "\u05e9\u05dc\u05d5\u05dd", "\u0627\u0644",
                           "\u061b\u061d", "\u200d\u2010", "\u2029\u202f", "\u2065\u206a"}) {
    EXPECT_FALSE(name_needs_escape(name)) << name;
    EXPECT_EQ(escaped_name(name), name);
  }
  EXPECT_EQ(escaped_name("a\nb\x1b[31m\\"), "a\\nb\\x1b[31m\\\\");
  EXPECT_EQ(escaped_name("\xe2\x80"), "\\xe2\\x80");  // cut short: not a control, not text
  std::mt19937 rng(21);
  for (int round = 0; round < 5000; ++round) {
    std::string bytes(rng() % 12, '\0');
    for (auto& b : bytes)
      b = static_cast<char>(
          "\xe2\x80\xae\xd8\x9c\x81\xa6"
          "a\\\n"[rng() % 11]);
    const std::string shown = escaped_name(bytes);
    ASSERT_EQ(unescape(shown), bytes);
    ASSERT_EQ(name_needs_escape(bytes), shown != bytes);
    for (unsigned char c : shown) ASSERT_TRUE(c >= 0x20 && c != 0x7f) << "a control in " << shown;
    for (const auto& [control, unused] : bidi_controls)
      ASSERT_EQ(shown.find(control), std::string::npos);
  }
}

}  // namespace
}  // namespace pipemux
