// One line of pipemux's text log with the default pattern, as the README documents it:
// "2026-11-29 14:31:02.123456 spam.0[48213] out | Spam 0". pipemux's own lines have the label
// "pipemux" and no index ("pipemux[4113] - * ..."); labels are padded to the widest.
#pragma once

#include <optional>
#include <string>

namespace pipemux::test {

struct log_line {
  std::string time;    ///< "2026-11-29 14:31:02.123456"
  std::string name;    ///< "spam", "pipemux"
  std::string index;   ///< the label's number (its instance): "0"; empty for pipemux's own lines
  std::string pid;     ///< "48213"
  std::string stream;  ///< "out", "err", "-"
  char mark = ' ';     ///< '|' a line, '+' a piece, '%' a partial line, '~' raw, '*' a report
  std::string text;

  /// "spam.0" (or "pipemux").
  std::string label() const { return index.empty() ? name : name + "." + index; }
};

/// The line's parts; nullopt when it is not a log line of that shape (forged or garbled).
std::optional<log_line> parse_log_line(const std::string& line);

}  // namespace pipemux::test
