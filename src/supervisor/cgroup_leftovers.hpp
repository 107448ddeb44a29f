// Once every child is finished, what they started may still run in the run's cgroup (a daemon,
// a `setsid` job): stopped as a child is, with its program's stop signal and SIGCONT, then
// SIGKILL once its program's grace is over, or at once when a second stop comes.
//
// Without timers or events of its own: the supervisor calls tick() every poll_interval (on its
// strand, where a destructor may be waiting) and logs what it reports.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "pipemux/events.hpp"
#include "pipemux/stop_sequence.hpp"

namespace pipemux::detail {

class run_cgroup;

class cgroup_leftovers {
 public:
  using clock = std::chrono::steady_clock;
  /// What the kernel needs to end a process: a group killed a moment ago may still be listed.
  static constexpr std::chrono::milliseconds poll_interval{20};

  /// One child's part of the cgroup, and how its program is stopped.
  struct target {
    std::size_t child_index = 0;
    int stop_signal = 15;
    std::chrono::milliseconds grace{5000};
  };
  /// A line for the log, about what was found in one child's cgroup.
  struct report {
    std::size_t child_index = 0;
    child_event_kind kind = child_event_kind::leftovers_stopping;
    std::string detail;
  };
  enum class next { wait, done };  ///< wait: tick() again after poll_interval

  /// `cgroup` must outlive this.
  cgroup_leftovers(const run_cgroup& cgroup, const std::vector<target>& targets);

  /// Done at once when nothing is left; else the stop signals go out at the first tick, and
  /// each child's grace runs from then.
  next begin();
  next tick(clock::time_point now, std::vector<report>& reports);
  /// A second stop: SIGKILL to everything left (cgroup.kill). Done.
  void kill_now(std::vector<report>& reports);

 private:
  struct stopping_target {
    std::size_t child_index;
    stop_sequence stopping;
  };
  void signal_all(clock::time_point now, std::vector<report>& reports);
  bool signal_member(std::size_t child_index, int pid,
                     const stop_sequence::signal_list& signals) const;
  void kill_overdue(clock::time_point now, std::vector<report>& reports);
  std::string names_in(std::size_t child_index) const;

  const run_cgroup& cgroup_;
  std::vector<stopping_target> targets_;
  bool signalled_ = false;
};

}  // namespace pipemux::detail
