// One attempt of a tcp, http or exec probe (pipemux/readiness.hpp), on the supervisor's strand:
// no thread of its own (name lookups use Asio's resolver), bounded by a deadline.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipemux/readiness.hpp"

namespace pipemux::detail {

/// Where an exec probe runs: the program's environment and directory.
struct probe_command_context {
  std::vector<std::string> environment;  ///< "KEY=value", the child's
  std::string working_directory;
  bool die_with_parent = true;
  /// An exec probe's process started (it leads its own group) and was reaped: the owner keeps
  /// it from others that reap (a CLI's subreaper) and registers its group with the guard.
  std::function<void(int pid)> started;
  std::function<void(int pid)> reaped;
};

class probe_attempt {
 public:
  /// `ok`: the probe succeeded; else `what` says what it got ("connection refused",
  /// "answered 503", "exited with code 1", "no answer within 1.000 s").
  using done_handler = std::function<void(bool ok, std::string what)>;

  /// Starts an attempt of `spec` (not a log probe); `done` is called once, on `executor`,
  /// unless cancel() came first.
  static std::shared_ptr<probe_attempt> start(const boost::asio::any_io_executor& executor,
                                              const probe& spec,
                                              const probe_command_context& context,
                                              std::chrono::milliseconds bound, done_handler done);
  virtual ~probe_attempt() = default;
  /// Ends it now (an exec probe's process group gets SIGKILL); `done` is not called.
  virtual void cancel() = 0;
};

}  // namespace pipemux::detail
