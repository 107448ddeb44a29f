// Internal: one spawned child process, and the single place that knows how Boost.Process v2
// (Boost 1.81) is used, with every workaround from shared/notes/boost-process-1.81.md.
// Delete the workarounds here when the project moves to a newer Boost.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace pipemux::detail {

/// Everything the child needs between fork and exec, fully resolved by the caller.
struct launch_request {
  std::filesystem::path executable;      ///< resolved path, checked to be executable
  std::vector<std::string> argv;         ///< argv[0] included, passed to the child as given
  std::vector<std::string> environment;  ///< the child's whole environment, "KEY=value"
  std::string working_directory;         ///< empty: the parent's
  int stdout_fd = -1;                    ///< becomes the child's fd 1; -1 inherits ours
  int stderr_fd = -1;                    ///< becomes the child's fd 2; -1 inherits ours
  bool own_process_group = true;         ///< setpgid(0, 0): a stop reaches grandchildren too
  bool die_with_parent = true;           ///< PR_SET_PDEATHSIG(SIGKILL)
  int cgroup_procs_fd = -1;              ///< the child moves itself there first (run_cgroup)
};

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
  /// A child not yet reaped gets SIGKILL; the pending wait (or v2's destructor) reaps it.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int pid() const noexcept { return pid_; }
  bool reaped() const noexcept;

  /// Waits for the child to exit and reaps it (pidfd + waitpid(pid), never waitpid(-1)).
  /// The handler gets the raw wait status, for WIFEXITED/WIFSIGNALED. One wait at a time;
  /// it may outlive this object (and then keeps the process handle alive until it completes).
  void async_wait(std::function<void(std::error_code, int wait_status)> handler);

  /// Sends `sig` to the child's process group, and to the child itself when it has left that
  /// group (or never led one). Once reaped, nothing unless `even_if_reaped`: then it reaches
  /// what is left in the group. True when some process got it.
  bool signal(int sig, bool even_if_reaped = false) noexcept;

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
