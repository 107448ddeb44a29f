// The supervisor: runs children on the caller's executor and hands over their output, framed
// and stamped with its arrival time, until every child has exited and every pipe reached EOF.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <vector>

#include "pipemux/events.hpp"
#include "pipemux/message.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux {

/// Never calls io_context::run, installs no signal handler and never calls waitpid(-1): each
/// child is reaped through its own pidfd. A host that sets SIGCHLD to SIG_IGN, or reaps with
/// waitpid(-1) itself, takes exit statuses away from it. All handlers run on an internal strand
/// of the executor, one at a time.
class supervisor {
 public:
  using message_handler = std::function<void(const message&)>;
  using event_handler = std::function<void(const child_event&)>;
  using completion_handler = std::function<void(const run_summary&)>;

  supervisor(boost::asio::any_io_executor executor, run_options options);
  /// A child still running is killed with SIGKILL (its whole group); no handler runs after.
  ~supervisor();
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  /// Starts `instances` children of every program and returns at once. `on_complete` runs
  /// once, when every child has been reaped and its output fully delivered. Call once.
  void start(std::vector<program_spec> programs, message_handler on_message,
             event_handler on_event, completion_handler on_complete);

  /// Graceful stop, from any thread: every running child gets the stop signal, and SIGKILL
  /// after the grace period. Output already written is still read and delivered. A second
  /// call skips what is left of the grace period.
  void stop();

  const run_options& options() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace pipemux
