// Internal: makes sure no grandchild outlives this process, even when it is killed with SIGKILL.
//
// PR_SET_PDEATHSIG reaches only the direct children. So a small guard process, forked once per
// supervisor, is told the process group of every running child over a socket; when it
// reaches EOF (this process exited or was killed) it SIGKILLs the groups still registered,
// and kills and removes the run's cgroup when there is one (which catches even descendants
// that left those groups).
#pragma once

#include <chrono>
#include <cstddef>
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

  /// Forks the guard, able to hold up to `capacity` groups. False (guard off) if it cannot.
  /// With `cgroup` (which must outlive start() only), the guard's last act is
  /// teardown_run_cgroup() for `capacity` children.
  bool start(std::size_t capacity, const run_cgroup* cgroup = nullptr) noexcept;
  bool running() const noexcept { return pid_ > 0; }

  /// The guard kills this group if we die before remove() is called for it. Both return false
  /// when the guard is not there (never started, or died: see lost()).
  bool add(int pgid) noexcept;
  bool remove(int pgid) noexcept;
  /// It was started and has died since (someone killed it).
  bool lost() const noexcept { return pid_ > 0 && write_fd_ < 0; }

  /// Closes the socket and reaps the guard; it kills the groups still registered first (and
  /// the cgroup: see start()). Waits finish_wait at most: a guard that does not end by then
  /// (someone stopped it with SIGSTOP) is killed, and the groups it held are killed here.
  void finish() noexcept;
  static constexpr std::chrono::milliseconds finish_wait{500};

 private:
  bool send(int record) noexcept;
  bool wait_for_exit(std::chrono::milliseconds limit) noexcept;
  int pid_ = -1;
  int pidfd_ = -1;  // to wait for the guard with a time limit
  int write_fd_ = -1;
  std::vector<int> groups_;  // registered with the guard: ours to kill if it cannot
};

}  // namespace pipemux::detail
