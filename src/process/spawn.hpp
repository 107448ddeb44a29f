// Internal: starts one child process without copying the parent's address space.
//
// clone(CLONE_VM | CLONE_VFORK) with a child function on a stack of its own, as glibc's
// posix_spawn does inside (clone3 when the child is born in a cgroup), because posix_spawn
// itself cannot do two things a child of ours needs: PR_SET_PDEATHSIG (with its getppid check)
// between fork and exec, and starting in the run's cgroup. Boost.Process 1.81 was not used for
// it: its default launcher forks (every page of the parent becomes copy-on-write: ~2.5x the
// kernel's cost per child), and its vfork_launcher calls notify_fork(fork_child) in the child,
// which then rebuilds the parent's reactor in the memory it shares with the parent
// (boostorg/process#430, asio#1503), and leaves a failed exec with exit() instead of _exit()
// (boostorg/process#514).
#pragma once

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

namespace pipemux::detail {

/// Everything the child needs between clone and exec, fully resolved by the caller.
struct launch_request {
  std::string executable;                ///< resolved path, checked to be executable
  std::vector<std::string> argv;         ///< argv[0] included, passed to the child as given
  std::vector<std::string> environment;  ///< the child's whole environment, "KEY=value"
  std::string working_directory;         ///< empty: the parent's
  int stdin_fd = -1;                     ///< becomes the child's fd 0; -1: /dev/null
  int stdout_fd = -1;                    ///< becomes the child's fd 1; -1 inherits ours
  int stderr_fd = -1;                    ///< becomes the child's fd 2; -1 inherits ours
  bool own_process_group = true;         ///< setpgid(0, 0): a stop reaches grandchildren too
  /// stdout_fd is a pseudo-terminal: the child starts a session of its own (setsid: its own
  /// process group too) with it as the controlling terminal.
  bool controlling_terminal = false;
  bool die_with_parent = true;  ///< PR_SET_PDEATHSIG(SIGKILL)
  /// The cgroup the child starts in (a cgroup v2 directory, run_cgroup), or -1: ours. It is
  /// born there (clone3's CLONE_INTO_CGROUP) where the kernel allows, else it moves itself in
  /// first thing (a write to cgroup.procs: a migration costs an RCU grace period, 9 ms here).
  int cgroup_fd = -1;
  /// false: always the second way (the tests try both).
  bool cgroup_at_birth = true;
  /// Become the child's fds 3, 4, ... in this order (at most max_inherited_fds); every other
  /// fd above 2 is closed.
  std::vector<int> inherited_fds;
  static constexpr std::size_t max_inherited_fds = 8;
  /// The program starts with every signal blocked rather than none (the orphan guard: a stop
  /// sent to everything, as systemd's to a whole cgroup, must not end it before its work).
  bool signals_blocked = false;
};

/// A started child: its pid, and a pidfd for it (close-on-exec), which the caller owns.
struct spawned_child {
  int pid = -1;
  int pidfd = -1;
};

/// Starts the child: stdin is stdin_fd or /dev/null, only fds 0, 1 and 2 (and inherited_fds) are
/// inherited, every signal disposition is the default and the mask is empty (see
/// signals_blocked). Returns once the child has exec'd. When any step before the exec fails
/// (cgroup, chdir, exec itself), returns pid -1 with `ec` set to that step's errno, and the child
/// is already reaped: no zombie. Safe with other threads running: the child touches only its own
/// stack and what `request` holds.
spawned_child spawn(const launch_request& request, std::error_code& ec);

}  // namespace pipemux::detail
