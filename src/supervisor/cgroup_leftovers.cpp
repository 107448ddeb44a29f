#include "supervisor/cgroup_leftovers.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipemux/exit_status.hpp"
#include "process/run_cgroup.hpp"

namespace pipemux::detail {
namespace {

void append_process(std::string& names, const std::string& name, int pid) {
  names += fmt::format("{}{}[{}]", names.empty() ? "" : ", ", name, pid);
}

}  // namespace

cgroup_leftovers::cgroup_leftovers(const run_cgroup& cgroup, const std::vector<target>& targets)
    : cgroup_(cgroup) {
  for (const target& t : targets)
    targets_.push_back({t.child_index, stop_sequence(t.stop_signal, t.grace)});
}

cgroup_leftovers::next cgroup_leftovers::begin() {
  if (!cgroup_.populated()) return next::done;
  return next::wait;  // what a child's group kill hit a moment ago may still be listed
}

cgroup_leftovers::next cgroup_leftovers::tick(clock::time_point now, std::vector<report>& reports) {
  if (!signalled_) {
    signalled_ = true;
    signal_all(now, reports);
    if (reports.empty()) return next::done;  // all gone by themselves
    return next::wait;
  }
  if (!cgroup_.populated()) return next::done;
  kill_overdue(now, reports);
  const bool all_killed = std::all_of(targets_.begin(), targets_.end(),
                                      [](const auto& t) { return t.stopping.killed(); });
  if (!all_killed) return next::wait;
  cgroup_.kill();  // what a fork slipped past the round of SIGKILLs (the teardown waits for it)
  return next::done;
}

// Each child's stop sequence begins (its grace from now) for each process in its cgroup; a
// report for each child whose cgroup held any.
void cgroup_leftovers::signal_all(clock::time_point now, std::vector<report>& reports) {
  for (auto& t : targets_) {
    const stop_sequence::signal_list signals = t.stopping.stop(now);
    std::string names;
    for (int pid : cgroup_.members(t.child_index)) {
      std::string name = process_name(pid);  // before it may be gone
      if (!signal_member(t.child_index, pid, signals)) continue;
      append_process(names, name, pid);
    }
    if (!names.empty())
      reports.push_back(
          {t.child_index, child_event_kind::leftovers_stopping,
           "still running after it ended: " + names + ": sent " + signal_name(signals[0])});
  }
}

bool cgroup_leftovers::signal_member(std::size_t child_index, int pid,
                                     const stop_sequence::signal_list& signals) const {
  if (!cgroup_.signal_member(child_index, pid, signals[0])) return false;  // gone meanwhile
  for (std::size_t i = 1; i < signals.size(); ++i)
    cgroup_.signal_member(child_index, pid, signals[i]);
  return true;
}

// SIGKILL to what is left in each child's cgroup once its own grace is over.
void cgroup_leftovers::kill_overdue(clock::time_point now, std::vector<report>& reports) {
  for (auto& t : targets_) {
    if (!t.stopping.kill_due(now)) continue;
    const stop_sequence::signal_list signals = t.stopping.kill();
    const std::string names = names_in(t.child_index);
    if (names.empty()) continue;
    reports.push_back({t.child_index, child_event_kind::leftovers_killed,
                       "still running: " + names + ": sent SIGKILL"});
    for (int pid : cgroup_.members(t.child_index)) signal_member(t.child_index, pid, signals);
  }
}

void cgroup_leftovers::kill_now(std::vector<report>& reports) {
  for (auto& t : targets_) {
    if (t.stopping.killed()) continue;
    t.stopping.kill();  // cgroup.kill below sends it to all at once
    if (const std::string names = names_in(t.child_index); !names.empty())
      reports.push_back({t.child_index, child_event_kind::leftovers_killed,
                         "still running: " + names + ": sent SIGKILL"});
  }
  cgroup_.kill();
}

std::string cgroup_leftovers::names_in(std::size_t child_index) const {
  std::string names;
  for (int pid : cgroup_.members(child_index)) append_process(names, process_name(pid), pid);
  return names;
}

}  // namespace pipemux::detail
