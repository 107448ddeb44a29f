// Sends what a supervisor reports to a spdlog::logger: each message logged with its arrival
// time, non-printable bytes escaped, and pattern flags that name the child.
#pragma once

#include <spdlog/logger.h>
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/escape.hpp"
#include "pipemux/events.hpp"
#include "pipemux/fd_sink.hpp"
#include "pipemux/log_format.hpp"
#include "pipemux/message.hpp"
#include "pipemux/message_batch.hpp"

namespace pipemux {

/// Where the adapter puts the child's identity.
enum class identity_in : unsigned char {
  /// pipemux's pattern flags: the logger must use make_log_formatter, and log synchronously
  /// (the flags read the message being logged on the calling thread).
  flags,
  /// The message text itself starts with "spam.0[4242] out | ": works with any logger, any
  /// pattern, and asynchronous loggers too.
  payload,
};

/// A message and event handler for a supervisor that logs through `logger`. Call it from one
/// strand at a time. With an executor, it asks the logger to flush once the executor has run
/// what was ready: output is written in batches, yet never held back while the loop waits,
/// nor for longer than max_flush_delay while it is busy. The adapter must outlive those flushes.
/// A child's own colours are escaped, kept or stripped as `ansi` says (escape.hpp).
class spdlog_adapter {
 public:
  static constexpr std::chrono::milliseconds max_flush_delay{2};

  explicit spdlog_adapter(std::shared_ptr<spdlog::logger> logger,
                          boost::asio::any_io_executor flush_executor = {},
                          identity_in identity = identity_in::flags,
                          ansi_mode ansi = ansi_mode::escape);

  void operator()(const message& m);
  /// The messages of one read (async_run_per_read, or a message_batch), as operator()(message)
  /// would log each. Where the logger writes the default pattern to one fd_sink and does
  /// nothing else per line (no backtrace, no flush level), the lines go to the sink in one
  /// go, their common prefix formatted once: the same bytes, about 1.6x faster.
  void operator()(std::span<const message> read);
  void operator()(const message_batch& batch);
  /// Reports are stamped `when`: give the same time to adapters that log one report to
  /// several places.
  void operator()(const child_event& e, log_clock::time_point when = log_clock::now());
  /// One '*' line per child: "summary: 10 messages, 72 bytes, exited with code 0, 0 restarts".
  void operator()(const run_summary& s, log_clock::time_point when = log_clock::now());
  /// A line of pipemux's own (not about a child), marked '*'.
  void note(spdlog::level::level_enum level, std::string_view text,
            log_clock::time_point when = log_clock::now());

  const std::shared_ptr<spdlog::logger>& logger() const noexcept { return logger_; }

  /// Hands a child's bytes to the formatter as they are, unescaped: for a formatter that
  /// escapes for itself (make_json_formatter). Call before logging.
  void pass_raw_bytes(bool raw) noexcept { raw_bytes_ = raw; }

  /// For a terminal, with ansi_mode::keep: a child's line holding a carriage return (a
  /// progress bar redrawn in place) is shown as a terminal would show it, the part after its
  /// last '\r' (a "\r\n" ending is no redraw). Files and JSON keep every byte.
  void show_as_terminal(bool terminal) noexcept { as_terminal_ = terminal; }

 private:
  void log(const child_info* child, const char* stream, char mark, log_clock::time_point when,
           spdlog::level::level_enum level, std::string_view text);
  bool log_at_once(std::span<const message> read);
  // What of a child's text is shown: all of it, or a terminal's view (show_as_terminal).
  std::string_view shown(std::string_view text);
  void schedule_flush();
  void flush_when_idle();

  std::shared_ptr<spdlog::logger> logger_;
  boost::asio::any_io_executor flush_executor_;
  identity_in identity_;
  ansi_mode ansi_;
  bool raw_bytes_ = false;
  bool as_terminal_ = false;
  std::string shown_;  // shown(): a redrawn line's last state with the colours set before it
  bool flush_scheduled_ = false;
  std::size_t logged_since_post_ = 0;
  std::chrono::steady_clock::time_point first_unflushed_;
  std::string text_;  // reused: escaping or prefixing allocates only while lines grow
  // Reused by log_at_once: the batch's lines, and the escaped text of those that need it.
  std::vector<detail::batch_line> batch_lines_;
  struct escaped_line {
    std::size_t line;  // in batch_lines_
    std::size_t end;   // of its text in text_
  };
  std::vector<escaped_line> escaped_;
};

}  // namespace pipemux
