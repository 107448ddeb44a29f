// The CLI's duties as a child subreaper (PR_SET_CHILD_SUBREAPER), or as PID 1 in a container:
// descendants orphaned by a child's exit (daemons, `setsid`, double forks) come back to pipemux
// instead of escaping to init. It reaps them, names each in the log, and stops the escaped
// descendants (those that left their child's process group, which the supervisor signals) with
// the children: the stop signal and SIGCONT when the run is stopped, SIGKILL once the grace is
// over, and SIGKILL at once for any that comes back later (a TERM-ignoring grandchild whose
// parent was just killed). It never reaps a direct child: the supervisor reaps those through
// their pidfds, and tells us their pids through its events (track/untrack).
//
// Process-wide, so the CLI's and not the library's: it catches SIGCHLD (asio::signal_set).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "pipemux/stop_sequence.hpp"

namespace pipemux::cli {

class orphan_reaper {
 public:
  /// A line for the log; `notable` for what the user should look at (a stop, a SIGKILL), not
  /// for an orphan that ended on its own.
  using report_handler = std::function<void(bool notable, const std::string&)>;

  /// After SIGKILL, how long the end of the run waits for the last ones to be gone (a process
  /// in uninterruptible sleep takes SIGKILL only when it wakes): then it is named, not awaited.
  static constexpr std::chrono::milliseconds kill_wait{2000};

  /// Makes this process a subreaper (or finds it is PID 1) and starts reaping on SIGCHLD.
  orphan_reaper(boost::asio::io_context& io, report_handler report);

  /// A direct child of the supervisor (it leads its own process group): never reaped here, and
  /// neither it nor its group is signalled here.
  void track(int pid);
  /// Processes the supervisor reaps besides its children (exec probes): never reaped or
  /// signalled here either.
  void also_theirs(std::function<bool(int pid)> theirs) { theirs_ = std::move(theirs); }
  /// It was reaped by the supervisor.
  void untrack(int pid);

  /// The run is being stopped: every escaped descendant gets `stop_signal` (and SIGCONT) now,
  /// and SIGKILL once `grace` is over. Once only; later calls do nothing.
  void stop_escaped(int stop_signal, std::chrono::milliseconds grace);

  /// The run is over: stops the escaped descendants still running as stop_escaped() does
  /// (unless that began already), then calls `done` once none is left, or kill_wait after
  /// the SIGKILL at the latest. At once when there is none.
  void stop_all(int stop_signal, std::chrono::milliseconds grace, std::function<void()> done);

  /// SIGKILL now to every escaped descendant, and to any that comes back from now on.
  void kill_all();

  /// No more waiting for SIGCHLD (the run is over).
  void close();

 private:
  void wait_for_sigchld();
  void reap_soon();
  void reap();
  std::vector<int> escaped() const;
  void stop_new_escaped();
  bool kill_escaped();
  void finish_if_none_left();
  void give_up_waiting();

  boost::asio::signal_set sigchld_;
  boost::asio::steady_timer kill_timer_;
  report_handler report_;
  std::set<int> tracked_;
  std::function<bool(int pid)> theirs_;
  bool supervised(int pid) const { return tracked_.contains(pid) || (theirs_ && theirs_(pid)); }
  std::set<int> stopped_;  // sent the stop signal and named in the log once
  std::set<int> killed_;   // sent SIGKILL and named in the log once
  // The escaped descendants' stop: each newcomer gets what its step sends (signals_now()).
  stop_sequence sequence_{SIGTERM, std::chrono::milliseconds{0}};
  std::function<void()> on_all_gone_;
  bool closed_ = false;
  bool reap_posted_ = false;
};

}  // namespace pipemux::cli
