// How a log line looks: pipemux's pattern flags on top of spdlog's, and the default pattern.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace pipemux {

/// The default line: "2026-11-29 14:31:02.123456 spam.0[48213] out | Spam 0".
inline constexpr const char* default_log_pattern = "%Y-%m-%d %H:%M:%S.%f %L[%w] %J %Z %v";

/// A spdlog formatter that knows pipemux's flags as well as spdlog's own:
///   %L child label ("name.index")   %N child name   %k child index   %w child pid
///   %J stream: "out", "err", or "-" on pipemux's own reports
///   %Z what the line is: '|' a whole line, '+' a piece of a longer line (no newline follows),
///      '%' a last line that had no newline, '~' a raw chunk, '*' pipemux's own report.
/// Joining a child's '|', '+', '%' and '~' lines, unescaped, with a newline after each '|',
/// gives back exactly the bytes it wrote. On lines that are not about a child, %L and %N print
/// "pipemux", %w this process's pid, and %k prints "-".
///
/// The flags read the message being logged from the logging thread (spdlog_adapter publishes
/// it), so they need a synchronous logger. The default pattern gets a formatter of its own
/// that writes the same bytes several times faster (the date is formatted once a second);
/// `allow_fast_path = false` forces the general one.
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern,
                                                      bool allow_fast_path = true);

}  // namespace pipemux
