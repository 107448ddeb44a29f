// The CLI's duties as a child subreaper (PR_SET_CHILD_SUBREAPER), or as PID 1 in a container:
// descendants orphaned by a child's exit (daemons, `setsid`, double forks) come back to pipemux
// instead of escaping to init. It reaps them, names each in the log, and stops those still
// running when the run ends. It never reaps a direct child: the supervisor reaps those through
// their pidfds, and tells us their pids through its events (track/untrack).
//
// Process-wide, so the CLI's and not the library's: it catches SIGCHLD (asio::signal_set).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace pipemux::cli {

class orphan_reaper {
 public:
  /// A line for the log; `notable` for what the user should look at (a stop, a SIGKILL), not
  /// for an orphan that ended on its own.
  using report_handler = std::function<void(bool notable, const std::string&)>;

  /// Makes this process a subreaper (or finds it is PID 1) and starts reaping on SIGCHLD.
  orphan_reaper(boost::asio::io_context& io, report_handler report);

  /// A direct child of the supervisor: never reaped here.
  void track(int pid);
  /// It was reaped by the supervisor.
  void untrack(int pid);

  /// Stops the orphans still running: `stop_signal` (and SIGCONT), SIGKILL after `grace`.
  /// Calls `done` once none is left; at once when there is none.
  void stop_all(int stop_signal, std::chrono::milliseconds grace, std::function<void()> done);

  /// SIGKILL to every orphan still running (a second signal while stop_all waits).
  void kill_all();

  /// No more waiting for SIGCHLD (the run is over).
  void close();

 private:
  void wait_for_sigchld();
  void reap();
  std::vector<int> orphans() const;
  void finish_if_none_left();

  boost::asio::signal_set sigchld_;
  boost::asio::steady_timer kill_timer_;
  report_handler report_;
  std::set<int> tracked_;
  std::function<void()> on_all_gone_;
  bool closed_ = false;
};

}  // namespace pipemux::cli
