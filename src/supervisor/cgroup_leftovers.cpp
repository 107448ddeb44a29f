#include "supervisor/cgroup_leftovers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>

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
  for (const target& t : targets) targets_.push_back({t, {}});
}

cgroup_leftovers::next cgroup_leftovers::begin(clock::time_point now) {
  if (!cgroup_.populated()) return next::done;
  for (auto& t : targets_) t.kill_at = now + t.what.grace;
  return next::wait;  // what a child's group kill hit a moment ago may still be listed
}

cgroup_leftovers::next cgroup_leftovers::tick(clock::time_point now, std::vector<report>& reports) {
  if (!signalled_) {
    signalled_ = true;
    signal_all(reports);
    if (reports.empty()) return next::done;  // all gone by themselves
    return next::wait;
  }
  if (!cgroup_.populated()) return next::done;
  kill_overdue(now, reports);
  const bool all_killed =
      std::all_of(targets_.begin(), targets_.end(), [](const auto& t) { return t.killed; });
  if (!all_killed) return next::wait;
  cgroup_.kill();  // what a fork slipped past the round of SIGKILLs (the teardown waits for it)
  return next::done;
}

// The stop signal, then SIGCONT (a stopped process acts on no other signal), to each process
// in each child's cgroup; a report for each child whose cgroup held any.
void cgroup_leftovers::signal_all(std::vector<report>& reports) {
  for (const auto& t : targets_) {
    const int sig = t.what.stop_signal;
    std::string names;
    for (int pid : cgroup_.members(t.what.child_index)) {
      std::string name = process_name(pid);  // before it may be gone
      if (!cgroup_.signal_member(t.what.child_index, pid, sig)) continue;
      if (sig != SIGKILL) cgroup_.signal_member(t.what.child_index, pid, SIGCONT);
      append_process(names, name, pid);
    }
    if (!names.empty())
      reports.push_back({t.what.child_index, child_event_kind::leftovers_stopping,
                         "still running after it ended: " + names + ": sent " + signal_name(sig)});
  }
}

// SIGKILL to what is left in each child's cgroup once its own grace is over.
void cgroup_leftovers::kill_overdue(clock::time_point now, std::vector<report>& reports) {
  for (auto& t : targets_) {
    if (t.killed || now < t.kill_at) continue;
    t.killed = true;
    const std::string names = names_in(t.what.child_index);
    if (names.empty()) continue;
    reports.push_back({t.what.child_index, child_event_kind::leftovers_killed,
                       "still running: " + names + ": sent SIGKILL"});
    for (int pid : cgroup_.members(t.what.child_index))
      cgroup_.signal_member(t.what.child_index, pid, SIGKILL);
  }
}

void cgroup_leftovers::kill_now(std::vector<report>& reports) {
  for (auto& t : targets_) {
    if (t.killed) continue;
    t.killed = true;
    if (const std::string names = names_in(t.what.child_index); !names.empty())
      reports.push_back({t.what.child_index, child_event_kind::leftovers_killed,
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
