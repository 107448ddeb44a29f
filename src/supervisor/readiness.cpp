// Dependencies and readiness: which child may start (program_spec::depends_on), when a child
// is ready (its ready probe), whether it is still alive (its liveness probe), and the reverse
// order of a stop. Every probe runs on the strand; an exec probe is a child of its own.
#include <fmt/format.h>

#include <csignal>

#include "pipemux/name_escape.hpp"
#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

namespace {

std::string seconds_since(steady::time_point since) {
  return fmt::format("{:.3f} s", std::chrono::duration<double>(steady::now() - since).count());
}

// A log probe looks at one line at a time; a longer one is cut there (it still matches on
// what it began with).
constexpr std::size_t log_line_limit = 4096;

}  // namespace

// ---- Which child starts next

detail::child_progress supervisor_core::impl::progress_of(const child_slot& c) const {
  detail::child_progress p;
  p.started = c.ever_started;
  p.ready = c.ready;
  p.not_ready = c.not_ready;
  p.finished = c.life.finished();
  p.start_error = !c.spawn_error.empty() ? c.spawn_error : c.dependency_error;
  p.status = c.life.status();
  p.succeeded = p.status && p.status->success() && !c.stopped_not_alive;
  return p;
}

detail::dependency_verdict supervisor_core::impl::dependencies_of(const child_slot& c,
                                                                  std::string& waiting_for) const {
  bool all_met = true;
  for (const auto& d : c.program->depends_on) {
    std::vector<detail::child_progress> of_program;
    for (const auto& other : children)
      if (other->program->name == d.program) of_program.push_back(progress_of(*other));
    auto verdict = detail::judge_dependency(d.condition, of_program);
    if (verdict.what == detail::dependency_verdict::state::failed) {
      verdict.why = "its dependency '" + escaped_name(d.program) + "' " + verdict.why;
      return verdict;
    }
    if (verdict.what == detail::dependency_verdict::state::waiting) {
      all_met = false;
      if (!waiting_for.empty()) waiting_for += ", ";
      waiting_for += fmt::format("{} ({})", escaped_name(d.program),
                                 name_of(d.condition, dependency_condition_names));
    }
  }
  return {
      all_met ? detail::dependency_verdict::state::met : detail::dependency_verdict::state::waiting,
      {}};
}

child_slot* supervisor_core::impl::pick_next_to_start() {
  for (auto& slot : children) {
    child_slot& c = *slot;
    if (c.launched) continue;
    if (!c.dependency_waived) {
      std::string waiting_for;
      const auto verdict = dependencies_of(c, waiting_for);
      if (verdict.what == detail::dependency_verdict::state::failed) {
        if (!settle_failed_dependency(c, verdict.why)) {
          if (state != phase::running) return nullptr;  // the run stops
          continue;
        }
      } else if (verdict.what == detail::dependency_verdict::state::waiting) {
        if (!c.waiting_said) emit(child_event_kind::waiting, c, waiting_for);
        c.waiting_said = true;
        continue;
      }
    }
    return room_to_start() ? &c : nullptr;  // in order: the next waits for room as well
  }
  return nullptr;
}

bool supervisor_core::impl::settle_failed_dependency(child_slot& c, const std::string& why) {
  const auto action = c.program->on_dependency_failure;
  if (action == dependency_failure::start_anyway) {
    c.dependency_waived = true;
    emit(child_event_kind::dependency_failed, c, why + ": starting anyway");
    return true;
  }
  c.launched = true;
  c.dependency_error = why;
  c.life.never_runs();
  end_input(c);  // what was sent for it will not be written
  emit(child_event_kind::dependency_failed, c, "not started: " + why);
  if (action == dependency_failure::stop_run && state == phase::running)
    stop_others(c, "a dependency failed");
  else
    start_waiting_child();  // its own dependents fail in turn
  return false;
}

// ---- Ready and alive

void supervisor_core::impl::start_probing(child_slot& c) {
  ++c.probe_generation;
  c.ready = false;
  c.not_ready.clear();
  c.stopped_not_alive = false;
  c.alive_failures = 0;
  c.last_probe.clear();
  for (auto& line : c.log_line) line.clear();
  const auto& ready = c.program->ready;
  if (!ready) {
    c.ready = true;
    return start_liveness(c);
  }
  c.ready_deadline = c.started_at + ready->timeout;
  if (ready->kind == probe_kind::log) {
    c.probe_phase = child_slot::probing::log;
    c.last_probe = "no line matched";
    next_probe_after(c, ready->timeout);  // only the deadline
  } else {
    c.probe_phase = child_slot::probing::ready;
    next_probe_after(c, std::min(ready->initial_delay, ready->timeout));
  }
}

void supervisor_core::impl::stop_probing(child_slot& c) {
  c.probe_phase = child_slot::probing::none;
  ++c.probe_generation;
  c.probe_timer.cancel();
  if (c.attempt) c.attempt->cancel();
  c.attempt.reset();
}

void supervisor_core::impl::next_probe_after(child_slot& c, std::chrono::milliseconds delay) {
  c.probe_timer.expires_after(delay);
  child_slot* slot = &c;
  c.probe_timer.async_wait(guarded([slot, generation = c.probe_generation](
                                       impl& self, boost::system::error_code ec) {
    if (ec || generation != slot->probe_generation) return;
    if (slot->probe_phase != child_slot::probing::alive && steady::now() >= slot->ready_deadline)
      return self.readiness_timed_out(*slot);
    self.probe_once(*slot);
  }));
}

void supervisor_core::impl::probe_once(child_slot& c) {
  const bool alive = c.probe_phase == child_slot::probing::alive;
  const probe& spec = alive ? *c.program->alive : *c.program->ready;
  // A ready attempt may take until the deadline, but no longer than an interval (at least a
  // second) so that one lost connection does not use up the whole timeout.
  auto bound = alive ? spec.timeout : std::max(spec.interval, std::chrono::milliseconds(1000));
  if (!alive)
    bound = std::min(
        bound, std::chrono::ceil<std::chrono::milliseconds>(c.ready_deadline - steady::now()));
  detail::probe_command_context context;
  if (spec.kind == probe_kind::exec) {
    context.environment = environment_of(c).for_child(*c.info);
    context.working_directory = c.program->working_directory;
    context.die_with_parent = options.die_with_parent;
    context.started = [this](int pid) {
      probe_pids.insert(pid);
      if (options.die_with_parent && !guard.add(pid)) report_guard_lost(*children.front());
    };
    context.reaped = guarded([](impl& self, int pid) {
      self.probe_pids.erase(pid);
      if (self.options.die_with_parent) self.guard.remove(pid);
    });
  }
  const auto attempt_started = steady::now();
  child_slot* slot = &c;
  c.attempt = detail::probe_attempt::start(
      strand, spec, context, std::max(bound, std::chrono::milliseconds(1)),
      guarded([slot, generation = c.probe_generation, attempt_started](impl& self, bool ok,
                                                                       std::string what) {
        if (generation != slot->probe_generation) return;
        slot->attempt.reset();
        self.on_probe_answer(*slot, ok, std::move(what));
        // Ready now, or stopped for not answering: that phase is over.
        if (generation != slot->probe_generation) return;
        // The next attempt an interval after this one began.
        if (slot->probe_phase == child_slot::probing::ready ||
            slot->probe_phase == child_slot::probing::alive) {
          const probe& p = slot->probe_phase == child_slot::probing::alive ? *slot->program->alive
                                                                           : *slot->program->ready;
          const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                                                   attempt_started);
          self.next_probe_after(
              *slot, spent < p.interval ? p.interval - spent : std::chrono::milliseconds(0));
        }
      }));
}

void supervisor_core::impl::on_probe_answer(child_slot& c, bool ok, std::string what) {
  const bool alive = c.probe_phase == child_slot::probing::alive;
  const probe& spec = alive ? *c.program->alive : *c.program->ready;
  if (ok) {
    c.alive_failures = 0;
    if (!alive)
      become_ready(
          c, fmt::format("({} {}: {})", name_of(spec.kind, probe_kind_names), spec.target, what));
    return;
  }
  c.last_probe = fmt::format("{} {}: {}", name_of(spec.kind, probe_kind_names), spec.target, what);
  if (alive && ++c.alive_failures >= std::max<std::size_t>(c.program->alive_failures, 1))
    stop_not_alive(c);
}

void supervisor_core::impl::watch_log(child_slot& c, stream_kind stream, std::string_view data) {
  auto& line = c.log_line[static_cast<std::size_t>(stream)];
  const auto& pattern = *log_patterns[c.program_index];
  while (c.probe_phase == child_slot::probing::log && !data.empty()) {
    const auto end = data.find('\n');
    const auto piece = data.substr(0, end);
    line.append(piece.substr(0, log_line_limit - std::min(line.size(), log_line_limit)));
    const bool ended = end != std::string_view::npos;
    switch (pattern.search(line, ended)) {
      case detail::line_pattern::result::found:
        return become_ready(c, "(log matched \"" + c.program->ready->target + "\")");
      case detail::line_pattern::result::too_costly:
        c.last_probe = "a line was too costly to search (the expression backtracks too much)";
        break;
      case detail::line_pattern::result::not_found:
        break;
    }
    if (!ended) return;  // the rest of the line comes later
    line.clear();
    data.remove_prefix(end + 1);
  }
}

void supervisor_core::impl::become_ready(child_slot& c, const std::string& how) {
  c.ready = true;
  c.probe_timer.cancel();
  ++c.probe_generation;  // answers still on their way are for an earlier phase
  for (auto& line : c.log_line) std::string().swap(line);
  emit(child_event_kind::ready, c, "after " + seconds_since(c.started_at) + " " + how);
  start_waiting_child();
  start_liveness(c);
}

void supervisor_core::impl::readiness_timed_out(child_slot& c) {
  stop_probing(c);
  c.not_ready = fmt::format("after {:.3f} s ({})",
                            std::chrono::duration<double>(c.program->ready->timeout).count(),
                            c.last_probe.empty() ? std::string("no answer") : c.last_probe);
  emit(child_event_kind::not_ready, c, c.not_ready);
  start_waiting_child();
}

void supervisor_core::impl::start_liveness(child_slot& c) {
  if (!c.program->alive || state != phase::running) {
    c.probe_phase = child_slot::probing::none;
    return;
  }
  c.probe_phase = child_slot::probing::alive;
  // Being ready (or started) just answered the question: the first attempt is an interval on.
  next_probe_after(c, c.program->alive->initial_delay + c.program->alive->interval);
}

void supervisor_core::impl::stop_not_alive(child_slot& c) {
  const std::string last = c.last_probe;
  stop_probing(c);
  if (state != phase::running || !c.process || c.process->exited()) return;
  c.stopped_not_alive = true;
  emit(child_event_kind::not_alive, c,
       fmt::format("not alive: {} {} in a row (last: {}): stopping it", c.alive_failures,
                   c.alive_failures == 1 ? "probe failed" : "probes failed", last));
  stop_alone(c, c.life.stop_alone(steady::now()));
}

// ---- Stopping dependents first

bool supervisor_core::impl::has_running_dependents(const child_slot& c) const {
  for (const auto& other : children) {
    if (!other->launched || other->life.finished()) continue;
    for (const auto& d : other->program->depends_on)
      if (d.program == c.program->name) return true;
  }
  return false;
}

void supervisor_core::impl::stop_deferred_children() {
  if (state != phase::stopping) return;
  bool any = false;
  const auto now = steady::now();
  for (auto& c : children)
    if (c->stop_deferred && !has_running_dependents(*c)) {
      c->stop_deferred = false;
      stop_child(*c, now, false);
      any = true;
    }
  if (any) wait_for_next_grace_to_end();
}

}  // namespace pipemux
