// Operating the run while it goes on (control.hpp): what each child is doing, and the stops,
// starts, restarts and scales the host asks for. Each request is done on the strand, then its
// caller is told, as every callback is told (under the state's mutex, never once the
// supervisor is gone).
#include <boost/asio/dispatch.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "pipemux/name_escape.hpp"
#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

namespace {

std::string label_of(const child_info& child) {
  return escaped_name(child.name) + "." + std::to_string(child.instance);
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += "; ";
    out += part;
  }
  return out;
}

}  // namespace

// ---- On the strand

std::string supervisor_core::impl::control_refusal() const {
  switch (state) {
    case phase::idle:
      return "the run has not started";
    case phase::running:
      return stop_pending.load(std::memory_order_relaxed) ? "the run is stopping" : "";
    case phase::stopping:
    case phase::killing:
      return "the run is stopping";
    case phase::done:
      break;
  }
  return "the run is over";
}

std::vector<child_slot*> supervisor_core::impl::select(const child_selector& which,
                                                       std::string& error) {
  const auto program = std::find_if(programs.begin(), programs.end(),
                                    [&](const auto& p) { return p.name == which.program; });
  if (program == programs.end()) {
    error = "no program named '" + escaped_name(which.program) + "'";
    return {};
  }
  std::vector<child_slot*> found;
  std::size_t count = 0;
  for (auto& c : children) {
    if (c->program != &*program) continue;
    ++count;
    if (!which.instance || *which.instance == c->info->instance) found.push_back(c.get());
  }
  if (found.empty())
    error = fmt::format("no child {}.{}: {} has {} (numbered from 0)", escaped_name(which.program),
                        which.instance.value_or(0), escaped_name(which.program), count);
  return found;
}

child_status supervisor_core::impl::status_of(const child_slot& c, steady::time_point now) const {
  child_status s;
  s.child = *c.info;
  s.status = c.life.status();
  s.restarts = c.life.restarts() + c.asked_restarts;
  s.messages = c.messages;
  s.bytes = c.bytes;
  const bool alive = c.info->pid > 0 && !c.life.status() && !c.life.finished();
  if (!c.launched) {
    s.state = child_state::waiting;
  } else if (alive) {
    s.uptime = now - c.started_at;
    if (c.life.stopping())
      s.state = child_state::stopping;
    else if (!c.program->ready)
      s.state = child_state::running;
    else if (c.ready)
      s.state = child_state::ready;
    else if (!c.not_ready.empty())
      s.state = child_state::running, s.detail = "not ready " + c.not_ready;
    else
      s.state = child_state::starting;
  } else if (c.life.restart_pending()) {
    s.state = child_state::restarting;
    s.child.pid = -1;  // its last run's is gone, and may be another process's by now
    s.restart_in = std::max(steady::duration::zero(), c.restart_timer.expiry() - now);
  } else if (c.life.status()) {
    s.state = child_state::exited;
    s.uptime = c.exited_at - c.started_at;
  } else {
    s.state = child_state::not_started;
    s.detail = !c.spawn_error.empty()        ? c.spawn_error
               : !c.dependency_error.empty() ? "its dependency " + c.dependency_error
                                             : std::string("stopped before it started");
  }
  return s;
}

std::error_code supervisor_core::impl::act_on(const child_selector& which, std::string& said,
                                              const std::function<std::string(child_slot&)>& act) {
  const std::vector<child_slot*> found = select(which, said);
  if (found.empty()) return std::make_error_code(std::errc::no_such_process);
  std::vector<std::string> parts;
  parts.reserve(found.size());
  for (child_slot* c : found) parts.push_back(act(*c));
  said = joined(parts);
  complete_if_all_finished();  // every child may be stopped or ended now
  return {};
}

std::string supervisor_core::impl::stop_on_request(child_slot& c, bool then_restart,
                                                   const std::string& why) {
  const std::string label = label_of(*c.info);
  if (!c.launched || c.life.restart_pending() || c.life.finished()) {
    if (then_restart) return start_on_request(c, why);
    if (c.life.finished()) return label + ": ended already";
    emit(child_event_kind::requested, c, why);
    if (!c.launched) {  // waits for its turn or its dependencies: never starts now
      c.launched = true;
      c.life.never_runs();
    } else {
      stop_child(c, steady::now(), false);  // its restart is cancelled
    }
    return label + ": will not start";
  }
  const bool alive = !c.life.status();
  if (!alive) {  // reaped, its pipes not closed yet: its run ends once they are
    c.life.stop_on_request(steady::now(), then_restart);
    emit(child_event_kind::requested, c, why);
    return label + (then_restart ? ": ended; restarts once its output is read" : ": ended already");
  }
  emit(child_event_kind::requested, c, why);
  if (c.life.stopping()) {
    // Asked to stop a second time, as a second stop of the run: no more grace.
    if (!then_restart && c.life.stopped_on_request()) {
      kill_now(c, "asked to stop a second time before its grace was over: sent SIGKILL");
      return label + ": killed";
    }
    c.life.stop_on_request(steady::now(), then_restart);  // its liveness probe's grace goes on
    return label +
           (then_restart ? ": stopping already; restarts once it has ended" : ": stopping already");
  }
  stop_probing(c);
  stop_alone(c, c.life.stop_on_request(steady::now(), then_restart));
  return label + (then_restart ? ": restarting" : ": stopping");
}

std::string supervisor_core::impl::start_on_request(child_slot& c, const std::string& why) {
  const std::string label = label_of(*c.info);
  if (c.launched && !c.life.finished() && !c.life.restart_pending())
    return label +
           (c.life.status() ? ": ended; its output is still being read" : ": running already");
  if (c.life.restart_pending()) {  // counted when it was scheduled: it only comes sooner
    c.restart_timer.cancel();
    c.life.restart_due();
  } else {
    c.life.revive();
    if (c.runs > 0) ++c.asked_restarts;
  }
  c.launched = true;
  c.scaled_away = false;
  c.dependency_error.clear();
  emit(child_event_kind::requested, c, why);
  spawn(c);
  return label + (c.spawn_error.empty() ? ": started" : ": could not start: " + c.spawn_error);
}

std::string supervisor_core::impl::scale(std::size_t program, std::size_t count,
                                         const std::string& requested_by) {
  const std::string why = fmt::format("scale to {} asked by {}", count, requested_by);
  std::vector<std::string> said;
  std::size_t have = 0;
  for (const auto& slot : children) {  // starting one adds no slot: the loop stays valid
    child_slot& c = *slot;
    if (c.program_index != program) continue;
    ++have;
    if (c.info->instance >= count && !c.scaled_away) {
      c.scaled_away = true;
      if (!c.life.finished()) said.push_back(stop_on_request(c, false, why));
    } else if (c.info->instance < count && c.scaled_away) {
      c.scaled_away = false;
      if (c.launched && !c.life.finished() && !c.life.restart_pending()) {
        c.life.restart_once_over();  // a scale stopped it and it has not ended yet
        said.push_back(label_of(*c.info) + ": stopping; starts again once it has ended");
      } else {
        said.push_back(start_on_request(c, why));
      }
    }
  }
  for (std::size_t instance = have; instance < count; ++instance) {
    auto slot = std::make_unique<child_slot>(strand, programs[program], program, options);
    slot->info = std::make_shared<const child_info>(
        child_info{programs[program].name, children.size(), instance, -1});
    children.push_back(std::move(slot));
    ++scaled_children;
    said.push_back(start_on_request(*children.back(), why));
  }
  complete_if_all_finished();  // every child may be stopped or ended now
  if (said.empty())
    return fmt::format("{} has {} {} already", escaped_name(programs[program].name), count,
                       count == 1 ? "child" : "children");
  return joined(said);
}

// ---- The public face: each request goes to the strand, and its answer comes from there

void supervisor_core::impl::control(const std::shared_ptr<impl>& self_ptr,
                                    move_only_function<std::error_code(impl&, std::string&)> act,
                                    control_done done) {
  boost::asio::dispatch(self_ptr->strand, [weak = std::weak_ptr<impl>(self_ptr),
                                           act = std::move(act), done = std::move(done)]() mutable {
    const auto self = weak.lock();
    if (!self) return;
    const std::lock_guard lock(self->mutex);
    if (self->abandoned) return;
    std::string said;
    std::error_code ec;
    if (std::string refusal = self->control_refusal(); !refusal.empty()) {
      ec = std::make_error_code(std::errc::operation_not_permitted);
      said = std::move(refusal);
    } else {
      ec = act(*self, said);
    }
    if (done) self->call_user([&] { done(ec, std::move(said)); });
  });
}

void supervisor_core::status(move_only_function<void(std::vector<child_status>)> done) {
  boost::asio::dispatch(impl_->strand,
                        [weak = std::weak_ptr<impl>(impl_), done = std::move(done)]() mutable {
                          const auto self = weak.lock();
                          if (!self) return;
                          const std::lock_guard lock(self->mutex);
                          if (self->abandoned || !done) return;
                          std::vector<child_status> all;
                          const auto now = steady::now();
                          for (const auto& c : self->children)
                            all.push_back(self->status_of(*c, now));
                          self->call_user([&] { done(std::move(all)); });
                        });
}

void supervisor_core::stop_children(child_selector which, const std::string& requested_by,
                                    control_done done) {
  impl::control(
      impl_,
      [which = std::move(which), why = "stop asked by " + requested_by](impl& self,
                                                                        std::string& said) {
        return self.act_on(which, said,
                           [&](child_slot& c) { return self.stop_on_request(c, false, why); });
      },
      std::move(done));
}

void supervisor_core::start_children(child_selector which, const std::string& requested_by,
                                     control_done done) {
  impl::control(
      impl_,
      [which = std::move(which), why = "start asked by " + requested_by](impl& self,
                                                                         std::string& said) {
        return self.act_on(which, said,
                           [&](child_slot& c) { return self.start_on_request(c, why); });
      },
      std::move(done));
}

void supervisor_core::restart_children(child_selector which, const std::string& requested_by,
                                       control_done done) {
  impl::control(
      impl_,
      [which = std::move(which), why = "restart asked by " + requested_by](impl& self,
                                                                           std::string& said) {
        return self.act_on(which, said,
                           [&](child_slot& c) { return self.stop_on_request(c, true, why); });
      },
      std::move(done));
}

void supervisor_core::scale(std::string program, std::size_t count, const std::string& requested_by,
                            control_done done) {
  impl::control(
      impl_,
      [program = std::move(program), count, by = requested_by](
          impl& self, std::string& said) -> std::error_code {
        const auto found = std::find_if(self.programs.begin(), self.programs.end(),
                                        [&](const auto& p) { return p.name == program; });
        if (found == self.programs.end()) {
          said = "no program named '" + escaped_name(program) + "'";
          return std::make_error_code(std::errc::no_such_process);
        }
        const auto index = static_cast<std::size_t>(found - self.programs.begin());
        std::size_t have = 0;
        for (const auto& c : self.children) have += c->program_index == index ? 1 : 0;
        if (count > have && count - have > max_scaled_children - self.scaled_children) {
          said = fmt::format(
              "cannot scale {} to {}: a run may add {} children in all, and {} were added",
              escaped_name(program), count, max_scaled_children, self.scaled_children);
          return std::make_error_code(std::errc::invalid_argument);
        }
        said = self.scale(index, count, by);
        return {};
      },
      std::move(done));
}

}  // namespace pipemux
