// Stopping: the stop sequence for every child (its program's signal, grace and SIGKILL), what
// is left in the cgroup afterwards, and the destructor's kill.
#include <csignal>

#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

// Every child is finished, but what they started may still run in the cgroup (a daemon, a
// `setsid` job): stopped like a child (see cgroup_leftovers).
void supervisor_core::impl::stop_leftovers() {
  leftovers = leftovers_phase::stopping;
  std::vector<detail::cgroup_leftovers::target> targets;
  for (const auto& c : children)
    targets.push_back({c->info->index, c->life.policy().stop_signal, c->life.policy().grace});
  leftovers_stop.emplace(*cgroup, targets);
  if (leftovers_stop->begin() == detail::cgroup_leftovers::next::done) return finish_leftovers();
  watch_leftovers();
}

void supervisor_core::impl::watch_leftovers() {
  leftovers_timer.expires_after(detail::cgroup_leftovers::poll_interval);
  leftovers_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
    if (ec || self.leftovers != leftovers_phase::stopping) return;
    std::vector<detail::cgroup_leftovers::report> reports;
    const auto next = self.leftovers_stop->tick(steady::now(), reports);
    self.emit_leftovers(reports);
    if (next == detail::cgroup_leftovers::next::done) return self.finish_leftovers();
    self.watch_leftovers();
  }));
}

void supervisor_core::impl::kill_leftovers() {
  std::vector<detail::cgroup_leftovers::report> reports;
  leftovers_stop->kill_now(reports);
  emit_leftovers(reports);
  finish_leftovers();  // the cgroup's teardown waits for them to be gone
}

void supervisor_core::impl::emit_leftovers(
    const std::vector<detail::cgroup_leftovers::report>& reports) {
  for (const auto& report : reports)
    emit(report.kind, *children[report.child_index], report.detail);
}

void supervisor_core::impl::finish_leftovers() {
  leftovers = leftovers_phase::done;
  leftovers_timer.cancel();
  complete();
}

// Kills what may be left in the cgroup and removes it. Idempotent: after the guard did it,
// this finds nothing to do.
void supervisor_core::impl::remove_cgroup() {
  if (!cgroup) return;
  detail::teardown_run_cgroup(cgroup->parent_fd(), cgroup->name(), cgroup->directory_fd());
  cgroup.reset();
}

// stop() from the caller (or a cancellation): the run then ends with operation_aborted.
void supervisor_core::impl::stop_by_caller(bool kill_at_once) {
  if (state != phase::done) caller_stopped = true;
  stop(kill_at_once);
}

// `kill_at_once` (a terminal cancellation): SIGKILL instead of the stop signal, no grace.
void supervisor_core::impl::stop(bool kill_at_once) {
  if (abandoned) return;       // the children are dead already (kill_children_now)
  if (state == phase::idle) {  // before start(): it will start nothing
    stop_requested = true;
    return;
  }
  if (state == phase::done) return;
  if (leftovers == leftovers_phase::stopping) {  // the children are done; what they left is not
    stop_requested = true;
    kill_leftovers();
    return;
  }
  if (state == phase::stopping || state == phase::killing) {
    escalate();  // a second stop: no more grace
    return;
  }
  stop_requested = true;
  state = phase::stopping;
  never_spawn_the_rest();
  const auto now = steady::now();
  for (auto& c : children) {
    if (!c->process) continue;  // never started (a pending restart had a run before)
    stop_probing(*c);
    // Dependents first: this one's stop waits for theirs (and is sent when they have ended).
    if (!kill_at_once && !c->life.finished() && !c->life.restart_pending() &&
        has_running_dependents(*c)) {
      c->stop_deferred = true;
      continue;
    }
    stop_child(*c, now, kill_at_once);
  }
  if (kill_at_once) {
    state = phase::killing;
  } else {
    // A dependent whose restart the loop above cancelled is finished now: its dependencies
    // need not wait for it (nothing else would send them their signal).
    stop_deferred_children();
    wait_for_next_grace_to_end();
  }
  complete_if_all_finished();
}

void supervisor_core::impl::stop_child(child_slot& c, steady::time_point now, bool kill_at_once) {
  const detail::stop_order order =
      c.life.stop(now, !c.process->exited(), c.any_channel_open(), kill_at_once);
  if (order.what == detail::stop_order::kind::cancel_restart) c.restart_timer.cancel();
  for (const int sig : order.signals) c.process->signal(sig, true);  // to its group
}

void supervisor_core::impl::stop_alone(child_slot& c, const stop_sequence::signal_list& signals) {
  for (const int sig : signals) c.process->signal(sig, true);
  // Its grace, on the probe timer (free now: its probing was stopped): the run's grace timer
  // only serves a stopping run.
  c.probe_timer.expires_after(grace_of(c));
  child_slot* slot = &c;
  c.probe_timer.async_wait(
      guarded([slot, generation = c.probe_generation](impl& self, boost::system::error_code ec) {
        if (ec || generation != slot->probe_generation || slot->process->exited()) return;
        self.kill_now(*slot, "still running after the grace period: sent SIGKILL");
      }));
}

// Each child has its own program's grace: the timer wakes for the first one to end.
void supervisor_core::impl::wait_for_next_grace_to_end() {
  std::optional<steady::time_point> next;
  for (const auto& c : children)
    if (const auto deadline = c->life.kill_deadline(); c->process && deadline)
      if (!next || *deadline < *next) next = deadline;
  if (!next) return;
  grace_timer.expires_at(*next);
  grace_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
    if (!ec) self.kill_those_out_of_grace();
  }));
}

void supervisor_core::impl::kill_those_out_of_grace() {
  if (state != phase::stopping) return;
  const auto now = steady::now();
  for (auto& c : children)
    if (c->process && c->life.grace_over(now))
      kill_now(*c, "still running after the grace period: sent SIGKILL");
  wait_for_next_grace_to_end();
}

// Its grace is over, or there is no more grace for anyone; `why` says which, for the log.
void supervisor_core::impl::kill_now(child_slot& c, const char* why) {
  if (!c.process->reaped()) emit(child_event_kind::stop_escalated, c, why);
  for (const int sig : c.life.kill()) c.process->signal(sig, true);
}

void supervisor_core::impl::escalate() {
  if (state == phase::done || state == phase::killing) return;
  state = phase::killing;
  grace_timer.cancel();
  const auto now = steady::now();
  for (auto& c : children)
    if (c->process && !c->life.finished()) {
      if (c->stop_deferred) {  // never asked to stop yet: stopped now, at once (our stop)
        c->stop_deferred = false;
        emit(child_event_kind::stop_escalated, *c,
             "asked to stop a second time while it waited for its dependents: sent SIGKILL");
        stop_child(*c, now, true);
        continue;
      }
      kill_now(*c, "asked to stop a second time before its grace was over: sent SIGKILL");
    }
}

void supervisor_core::impl::kill_children_now() noexcept {
  // The group too, reaped or not, of a run not over (its group may still hold its pipes); not
  // of a run over long ago: its group was killed then, and its number may be another's now.
  for (auto& c : children)
    if (c->process && !c->life.finished() && !c->life.restart_pending())
      c->process->signal(SIGKILL, true);
  if (cgroup) cgroup->kill();
  // Kills the groups still registered; before the reaping below, while each group's leader
  // (a zombie at worst) keeps its number from being reused.
  guard.finish();
  const auto deadline = steady::now() + reap_wait;
  for (auto& c : children)
    if (c->process) c->process->kill_and_reap(deadline);
}

// The rest of the destructor's work, on the strand: no more callbacks, nothing left open.
void supervisor_core::impl::abandon() {
  grace_timer.cancel();
  job_control_timer.cancel();
  for (auto& c : children) {
    c->drain_timer.cancel();
    c->restart_timer.cancel();
    stop_probing(*c);
    if (c->input) c->input->close_now();  // its callbacks see `abandoned`: nobody is called
    c->input.reset();
    c->waiting_input.clear();
    for (auto& channel : c->channels)
      if (channel.reader) channel.reader->close();
  }
  leftovers_timer.cancel();
  guard.finish();
  remove_cgroup();
  // Batches waiting for receive() hold this state: let them go (they release nothing now).
  batches.clear();
  // As an Asio I/O object does with its pending operations (the completion is posted).
  stop_requested = true;
  finish(asio::error::operation_aborted, summarize());
}

}  // namespace pipemux
