// Internal: one started child process: how it is waited for, signalled and watched.
// (How it is started: spawn.hpp.)
#pragma once

#include "process/spawn.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace pipemux::detail {

/// A child was stopped (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) or continued.
struct job_control_change {
  bool stopped;  ///< false: continued
  int signal;    ///< what stopped it (SIGCONT when continued)
};

class child_process {
 public:
  /// Starts the child. The caller still owns (and must close) stdout_fd/stderr_fd.
  /// On failure, returns nullptr with `ec` set and no zombie left behind.
  static std::unique_ptr<child_process> launch(const boost::asio::any_io_executor& executor,
                                               const launch_request& request, std::error_code& ec);
  /// A child not yet reaped gets SIGKILL; the pending wait reaps it.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int pid() const noexcept { return pid_; }
  bool reaped() const noexcept;
  /// Reaped, or exited and waiting to be (a zombie whose end the loop has not handled yet):
  /// a stop sent now is not what ended it. Does not reap.
  bool exited() const noexcept;

  /// Waits for the child to exit and reaps it (pidfd + waitpid(pid), never waitpid(-1)).
  /// The handler gets the raw wait status, for WIFEXITED/WIFSIGNALED. One wait at a time;
  /// it may outlive this object (and then keeps the process handle alive until it completes).
  void async_wait(std::function<void(std::error_code, int wait_status)> handler);

  /// Sends `sig` to the child's process group, and to the child itself when it has left that
  /// group (or never led one). Once reaped, nothing unless `even_if_reaped`: then it reaches
  /// what is left in the group. True when some process got it.
  bool signal(int sig, bool even_if_reaped = false) noexcept;

  /// From any thread (the supervisor's destructor, when its executor may never run again):
  /// SIGKILL to the child's group and to the child, then reaps it, waiting until `deadline`
  /// at most. True when it is reaped (by this call or before). A pending async_wait still
  /// completes, with the status reaped here; nothing here races with it.
  bool kill_and_reap(std::chrono::steady_clock::time_point deadline) noexcept;

  /// Whether the child was stopped or continued since the last call (each change is reported
  /// once; a change missed between two calls is not).
  std::optional<job_control_change> poll_job_control() noexcept;

 private:
  struct state;
  child_process(std::shared_ptr<state> state, int pid, bool own_group);
  static void wait_for_exit(std::shared_ptr<state> state,
                            std::function<void(std::error_code, int)> handler);
  std::shared_ptr<state> state_;
  int pid_;
  bool own_group_;
};

}  // namespace pipemux::detail
