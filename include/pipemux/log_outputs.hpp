// Where the CLI's log goes: one or more sinks (-o, [[log.sink]]), each in its own format (text
// with the run's pattern and colours, or JSON lines), none of them blocking the event loop:
// - standard output and plain files go through an fd_writer: a thread of their own, and a
//   backlog that pauses reading the children while it is over its mark (flow control in one
//   place: signals, timers and exits are handled meanwhile);
// - rotating files (by size, daily, hourly) go through spdlog's own file sinks, on the loop: a
//   local regular file does not stall the way a pipe or a terminal does.
// reopen() (the CLI's SIGUSR1) opens every file again by its name, for logrotate.
#pragma once

#include <spdlog/common.h>
#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pipemux/delivery_report.hpp"
#include "pipemux/events.hpp"
#include "pipemux/log_options.hpp"
#include "pipemux/message.hpp"
#include "pipemux/program.hpp"
#include "pipemux/stream_filter.hpp"
#include "pipemux/terminal_style.hpp"

namespace pipemux {

/// A sink that cannot be opened: "pipemux.toml:4:10: log.output: cannot open output 'x': ...".
class output_open_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The first output that could not be written.
struct output_failure {
  std::error_code error;
  std::string output;  ///< output_name()
  bool to_stdout = false;
  std::string detail;  ///< what spdlog said, for a rotating file; else empty
};

class log_outputs {
 public:
  /// Opens every sink of `log` (standard output alone when it names none). `programs` are the
  /// run's, for the labels' width and colours. Throws output_open_error, or std::exception for
  /// a bad pattern.
  log_outputs(const log_options& log, std::span<const program_spec> programs,
              const boost::asio::any_io_executor& loop, const environment_reader& getenv);
  ~log_outputs();
  log_outputs(const log_outputs&) = delete;
  log_outputs& operator=(const log_outputs&) = delete;

  /// Whether any output is coloured (then the children are asked to colour too).
  bool coloured() const;
  /// Whether standard output, where the log may go, is a terminal.
  bool stdout_is_terminal() const noexcept { return stdout_is_terminal_; }

  void operator()(std::span<const message> read);
  /// `when`: the time the event happened (a report held back by --group is written later).
  void operator()(const child_event& e, log_clock::time_point when = log_clock::now());
  void operator()(const run_summary& s);
  void note(spdlog::level::level_enum level, std::string_view text);

  /// A cue, from any thread, that some output's backlog may have changed: look at
  /// backlogged() where the children are read.
  void on_backlog(const std::function<void()>& handler);
  /// Called once, from any thread, with the first output that fails to write.
  void on_error(std::function<void(output_failure)> handler);
  /// Whether any output has more queued than its high-water mark.
  bool backlogged() const;
  /// Whether any output lost messages it was given (the journal or a syslog server did not take
  /// them); each says how many on stderr at close().
  bool lost_anything() const;
  /// Gives up on what is queued anywhere, and on what comes after.
  void abandon();
  /// Bytes of log given up by abandon() in the files and on standard output: those queued
  /// then and those logged after it (a journal or syslog output counts its own messages).
  std::size_t dropped_bytes() const;
  /// Writes what is queued and closes every output, then calls `done` (on any thread).
  void close(std::function<void()> done);
  /// What each syslog and journal output did with the messages so far (none: empty).
  std::vector<delivery_report> deliveries() const;
  /// Opens each file again by its name (logrotate moved it away). Returns one line for each
  /// file that could not be: it is still written where it was.
  std::vector<std::string> reopen();

 private:
  struct output;
  std::unique_ptr<output> open(log_sink_options spec, bool own_thread, const log_options& log,
                               std::span<const program_spec> programs,
                               const boost::asio::any_io_executor& loop,
                               const environment_reader& getenv) const;
  output* file_of(const child_info& child) const;
  std::vector<output*> every_output() const;

  bool stdout_is_terminal_ = false;
  stream_filter shown_;                               // of the run's outputs
  std::vector<std::unique_ptr<output>> outputs_;      // the run's
  std::vector<std::unique_ptr<output>> child_files_;  // [[program]] output: one per file
  std::vector<output*> file_of_child_;                // by child index; null: none
};

/// "standard output", or the file's name in quotes: how errors name an output.
std::string output_name(const log_sink_options& sink);

}  // namespace pipemux
