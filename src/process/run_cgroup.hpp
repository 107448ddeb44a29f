// Internal: a cgroup v2 for one run, with one sub-group per child, as systemd gives a service.
//
// A process group or a session can be left (setsid, setpgid, a daemon's double fork); a cgroup
// cannot, without privileges the child lacks. So every descendant of every child is found
// (members), and `cgroup.kill` (Linux 5.14) SIGKILLs them all at once, even the ones that were
// forking at that moment. The group is made under this process's own cgroup, which needs root
// or a delegated subtree (systemd's Delegate=yes); without one, create() says why.
//
//   <our cgroup>/pipemux.<pid>.<serial>/<child index>
//
// Removing it is teardown(): async-signal-safe, so that the orphan guard can do it when this
// process was killed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "process/unique_fd.hpp"

namespace pipemux::detail {

class run_cgroup {
 public:
  /// Makes the run's cgroup. nullptr, with `why` set, when this system or user cannot.
  static std::unique_ptr<run_cgroup> create(std::string& why);
  /// Closes its descriptors; the cgroup itself stays until teardown().
  ~run_cgroup() = default;
  run_cgroup(const run_cgroup&) = delete;
  run_cgroup& operator=(const run_cgroup&) = delete;

  /// The child's cgroup directory, made on first use, opened (close-on-exec) for spawn()'s
  /// launch_request::cgroup_fd.
  unique_fd open_for(std::size_t child, std::error_code& ec) const;

  /// The processes in the child's cgroup now (its descendants too: nothing leaves a cgroup).
  std::vector<int> members(std::size_t child) const;
  /// Sends `sig` to `pid` if it is (still) in the child's cgroup: through a pidfd, so a pid
  /// that was reused meanwhile by some other process is never signalled.
  bool signal_member(std::size_t child, int pid, int sig) const noexcept;
  /// Some process is in it, in any child's group.
  bool populated() const noexcept;
  /// SIGKILL to every process in the run's cgroup (cgroup.kill): nothing survives it.
  void kill() const noexcept;

  int directory_fd() const noexcept { return dir_.get(); }
  int parent_fd() const noexcept { return parent_.get(); }
  const char* name() const noexcept { return name_.c_str(); }
  /// As /proc/PID/cgroup shows it, e.g. "/user.slice/…/pipemux.123.1".
  const std::string& path() const noexcept { return path_; }

 private:
  run_cgroup() = default;
  std::string child_path(std::size_t child) const;
  unique_fd parent_;  // the cgroup we were started in
  unique_fd dir_;     // the run's cgroup
  std::string name_;  // its name in parent_
  std::string path_;
};

/// The command name of a process (/proc/PID/comm), "?" once it is gone.
std::string process_name(int pid);

/// Kills what is left in the run's cgroup, waits up to about two seconds for it to empty, and
/// removes the children's cgroups and the run's. Async-signal-safe, no allocation: the orphan
/// guard calls it too. Does not close the fds.
void teardown_run_cgroup(int parent_fd, const char* name, int dir_fd) noexcept;

}  // namespace pipemux::detail
