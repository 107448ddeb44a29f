// Internal: makes sure no grandchild outlives this process, even when it is killed with SIGKILL.
//
// PR_SET_PDEATHSIG reaches only the direct children. So a small guard process, started once
// per supervisor, is told the process group of every running child over a socket; when it
// reaches EOF (this process exited or was killed) it SIGKILLs the groups still registered,
// and kills and removes the run's cgroup when there is one (which catches even descendants
// that left those groups).
//
// The guard is a program of its own (pipemux-guard, src/orphan_guard_main.cpp), started as the
// children are (spawn.hpp: no copy of this process's page tables, which a fork of a host with
// 1 GiB resident took 12-15 ms to make), and given the socket and the cgroup's descriptors as
// fds 3, 4 and 5:
//
//   pipemux-guard 1 CAPACITY [CGROUP_NAME]
//
// "1" is the protocol: native ints, a pgid to add, its negation to remove; EOF ends it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace pipemux::detail {

class run_cgroup;

class orphan_guard {
 public:
  orphan_guard() = default;
  /// Ends the guard: groups still registered are killed (see finish()).
  ~orphan_guard();
  orphan_guard(const orphan_guard&) = delete;
  orphan_guard& operator=(const orphan_guard&) = delete;

  /// Starts the guard, able to hold up to `capacity` groups; returns once it has exec'd. False
  /// (guard off, and lost() says so) if it cannot: its program is missing, say.
  /// With `cgroup` (which must outlive start() only), the guard's last act is
  /// teardown_run_cgroup().
  bool start(std::size_t capacity, const run_cgroup* cgroup = nullptr) noexcept;
  bool running() const noexcept { return pid_ > 0; }
  int pid() const noexcept { return pid_; }

  /// The guard kills this group if we die before remove() is called for it. Both return false
  /// when the guard is not there (never started, or died: see lost()).
  bool add(int pgid) noexcept;
  bool remove(int pgid) noexcept;
  /// It was started and has died since (someone killed it), or start() failed.
  bool lost() const noexcept { return (pid_ > 0 && write_fd_ < 0) || !start_error_.empty(); }
  /// What lost() means, for the log: which of the two, and why it could not start.
  std::string loss_description() const;

  /// Closes the socket and reaps the guard; it kills the groups still registered first (and
  /// the cgroup: see start()). Waits finish_wait at most: a guard that does not end by then
  /// (someone stopped it with SIGSTOP) is killed, and the groups it held are killed here.
  void finish() noexcept;
  static constexpr std::chrono::milliseconds finish_wait{500};

  /// The guard's program, the first that exists of: $PIPEMUX_GUARD_EXECUTABLE (when set, the
  /// only one looked at); the installed one (LIBEXECDIR/pipemux/pipemux-guard); the same
  /// relative to the running executable's directory (an installed tree moved elsewhere);
  /// the build tree's. The installed path when none exists (for the message).
  static std::string find_executable();

 private:
  bool launch(std::size_t capacity, const run_cgroup* cgroup);
  bool send(int record) noexcept;
  bool wait_for_exit(std::chrono::milliseconds limit) noexcept;
  int pid_ = -1;
  int pidfd_ = -1;  // to wait for the guard with a time limit
  int write_fd_ = -1;
  std::vector<int> groups_;  // registered with the guard: ours to kill if it cannot
  std::string start_error_;  // why start() failed
};

}  // namespace pipemux::detail
