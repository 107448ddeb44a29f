// How a log line looks: pipemux's pattern flags on top of spdlog's, and the default pattern.
#pragma once

#include <spdlog/formatter.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pipemux/message.hpp"
#include "pipemux/program.hpp"

namespace pipemux {

/// The default line: "2026-11-29 14:31:02.123456 spam.0[48213] out | Spam 0".
inline constexpr const char* default_log_pattern = "%Y-%m-%d %H:%M:%S.%f %L[%w] %J %Z %v";
/// The same with the time since the run started: "00:01:02.123456 spam.0[48213] out | ...".
inline constexpr const char* relative_log_pattern = "%q %L[%w] %J %Z %v";
/// The same without a time, for output that another program stamps (journald, docker).
inline constexpr const char* untimed_log_pattern = "%L[%w] %J %Z %v";

/// How the formatter dresses a line, beyond its pattern.
struct log_style {
  /// %L without a width of its own is padded to this many columns (the widest label), so that
  /// the text after it lines up; 0: not padded.
  std::size_t label_width = 0;
  /// ANSI colours: each label in its program's colour, "err" in red, pipemux's own warnings
  /// in yellow and errors in bold red.
  bool color = false;
  /// Program name -> SGR foreground code of its label (31-37, 90-97); unlisted: not coloured.
  std::vector<std::pair<std::string, std::uint8_t>> label_colors;
  /// What %q counts from.
  log_clock::time_point run_start = log_clock::now();
};

/// A spdlog formatter that knows pipemux's flags as well as spdlog's own:
///   %L child label ("name.instance")   %N child name   %k child index   %w child pid
///   %J stream: "out", "err", or "-" on pipemux's own reports
///   %Z what the line is: '|' a whole line, '+' a piece of a longer line (no newline follows),
///      '%' a last line that had no newline, '~' a raw chunk, '*' pipemux's own report.
///   %q time since style.run_start, "HH:MM:SS.uuuuuu" (hours grow past 99 if need be)
/// Joining a child's '|', '+', '%' and '~' lines, unescaped, with a newline after each '|',
/// gives back exactly the bytes it wrote. On lines that are not about a child, %L and %N print
/// "pipemux", %w this process's pid, and %k prints "-". The flags take spdlog's width and
/// alignment specs ("%-12L", "%8w", "%=6J", "%10!N" truncates); colours are not counted.
///
/// The flags read the message being logged from the logging thread (spdlog_adapter publishes
/// it), so they need a synchronous logger. The three patterns above get a formatter of their
/// own that writes the same bytes several times faster (the date is formatted once a second);
/// `allow_fast_path = false` forces the general one.
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern,
                                                      const log_style& style,
                                                      bool allow_fast_path = true);

inline std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern,
                                                             bool allow_fast_path = true) {
  return make_log_formatter(pattern, log_style{}, allow_fast_path);
}

/// Columns of the widest label ("name.instance", each program's children numbered from 0) that
/// `programs` will log: a log_style's label_width.
std::size_t widest_label(std::span<const program_spec> programs);

}  // namespace pipemux
