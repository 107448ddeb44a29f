// Starting: the run's children, one per handler, each with its environment, pipes and guard.
#include <boost/asio/post.hpp>

#include <csignal>

#include "pipemux/exit_status.hpp"
#include "supervisor/child_launch.hpp"
#include "supervisor/supervisor_impl.hpp"

extern char** environ;

namespace pipemux {

namespace {

std::shared_ptr<const child_info> with_pid(const child_info& info, int pid) {
  return std::make_shared<const child_info>(child_info{info.name, info.index, info.instance, pid});
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
  }
  return out;
}

std::string stop_reason(int sig) {
  std::string text = signal_name(sig);
  if (sig == SIGTTIN) text += " (it read from a terminal where it runs in the background)";
  if (sig == SIGTTOU) text += " (it wrote to or set a terminal where it runs in the background)";
  return text;
}

}  // namespace

void supervisor_core::impl::run() {
  state = phase::running;
  std::size_t index = 0;
  for (std::size_t p = 0; p < programs.size(); ++p)
    for (std::size_t i = 0; i < programs[p].instances; ++i) {
      auto c = std::make_unique<child_slot>(strand, programs[p], p, options);
      c->info = std::make_shared<const child_info>(child_info{programs[p].name, index++, i, -1});
      children.push_back(std::move(c));
    }
  environments.resize(programs.size());
  for (const auto& p : programs)
    log_patterns.push_back(p.ready && p.ready->kind == probe_kind::log
                               ? std::optional<detail::line_pattern>(std::in_place, p.ready->target)
                               : std::nullopt);
  if (options.cgroup != cgroup_mode::off && !children.empty())
    cgroup = detail::run_cgroup::create(no_cgroup_reason);
  // Room for every child's group, and one exec probe's each at most.
  std::size_t probed = 0;
  for (const auto& c : children)
    if ((c->program->ready && c->program->ready->kind == probe_kind::exec) ||
        (c->program->alive && c->program->alive->kind == probe_kind::exec))
      ++probed;
  // And for what scale() may add: a child's group and its exec probe's, each.
  if (options.die_with_parent && (options.own_process_group || cgroup) && !children.empty())
    guard.start(children.size() + probed + 2 * max_scaled_children, cgroup.get());
  watch_job_control();
  spawn_next();
}

// A child stopped by SIGTTIN (it read from a terminal where it is in the background) or by
// SIGSTOP makes no output and no noise: say so, once a second at most.
void supervisor_core::impl::watch_job_control() {
  job_control_timer.expires_after(std::chrono::seconds(1));
  job_control_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
    if (ec || self.state == phase::done) return;
    for (auto& c : self.children) {
      if (!c->process || c->life.finished()) continue;
      if (const auto change = c->process->poll_job_control()) {
        if (change->stopped)
          self.emit(child_event_kind::stopped, *c, stop_reason(change->signal));
        else
          self.emit(child_event_kind::continued, *c);
      }
    }
    self.watch_job_control();
  }));
}

// Children are started one per handler, so that the output of those already running is read
// (and stamped) between two forks: starting a thousand takes a second, and a stop or a
// message must not wait for all of them.
void supervisor_core::impl::spawn_next() {
  // A stop() from another handler may be queued behind this one: it is seen here already.
  if (state == phase::running && !stop_pending.load(std::memory_order_relaxed)) {
    if (child_slot* c = pick_next_to_start()) {
      c->launched = true;
      spawn(*c);
      if (any_waiting()) asio::post(strand, guarded([](impl& self) { self.spawn_next(); }));
    }
  } else {
    never_spawn_the_rest();
  }
  complete_if_all_finished();
}

bool supervisor_core::impl::any_waiting() const {
  for (const auto& c : children)
    if (!c->launched) return true;
  return false;
}

// run_options::max_running: the children started and not done for good (running, draining,
// or waiting to restart) leave room for another.
bool supervisor_core::impl::room_to_start() const {
  if (options.max_running == 0) return true;
  std::size_t active = 0;
  for (const auto& c : children)
    if (c->launched && !c->life.finished()) ++active;
  return active < options.max_running;
}

// Something a waiting child may wait for happened: a child is done for good (its place under
// max_running), started, got ready or failed to (dependencies).
void supervisor_core::impl::start_waiting_child() {
  if (state != phase::running || !any_waiting()) return;
  asio::post(strand, guarded([](impl& self) { self.spawn_next(); }));
}

void supervisor_core::impl::never_spawn_the_rest() {
  for (auto& c : children)
    if (!c->launched) {
      c->launched = true;
      c->life.never_runs();
    }
}

// Starts (or restarts) the child's process. On failure the child is finished for good.
void supervisor_core::impl::spawn(child_slot& c) {
  for (auto& channel : c.channels) channel.reader.reset();  // those of a previous run
  std::string why;
  auto launched = detail::launch_child(
      strand, *c.program, *c.info, environment_of(c), options,
      {cgroup.get(), &no_cgroup_reason, terminal_size ? &*terminal_size : nullptr}, why);
  if (!launched) return fail_spawn(c, std::move(why));
  c.process = std::move(launched->process);
  for (std::size_t stream = 0; stream < c.channels.size(); ++stream)
    c.channels[stream].reader = std::move(launched->readers[stream]);
  start_input(c, std::move(launched->input));
  c.info = with_pid(*c.info, c.process->pid());
  c.life.started();
  c.ever_started = true;
  ++c.runs;
  c.spawn_error.clear();
  c.started_at = steady::now();
  if (options.own_process_group && !guard.add(c.info->pid)) report_guard_lost(c);
  emit(child_event_kind::started, c, join_argv(c.program->argv));
  for (auto stream : {stream_kind::out, stream_kind::err}) start_reading(c, stream);
  start_probing(c);
  start_waiting_child();  // those waiting for it to start (or, without a probe, to be ready)
  child_slot* slot = &c;
  c.process->async_wait(guarded([slot](impl& self, std::error_code wait_error, int status) {
    self.on_exited(*slot, wait_error, status);
  }));
}

// Built at the first start of one of the program's children, from the environment as it is
// then, and shared by its children and their restarts.
const detail::program_environment& supervisor_core::impl::environment_of(const child_slot& c) {
  auto& environment = environments[c.program_index];
  if (!environment)
    environment = std::make_unique<const detail::program_environment>(*c.program, environ,
                                                                      options.unbuffered_env);
  return *environment;
}

// Said once: from now on a SIGKILL of this process would leave the children's groups alive.
void supervisor_core::impl::report_guard_lost(const child_slot& c) {
  if (!guard.lost() || guard_loss_reported) return;
  guard_loss_reported = true;
  emit(child_event_kind::guard_lost, c, guard.loss_description());
}

void supervisor_core::impl::fail_spawn(child_slot& c, std::string why) {
  c.info = with_pid(*c.info, -1);  // not the pid of an earlier run
  c.spawn_error = std::move(why);
  c.life.never_runs();
  emit(child_event_kind::spawn_failed, c, c.spawn_error);
  start_waiting_child();
  if (state == phase::running && c.life.policy().stop_on != stop_condition::all_done)
    stop_others(c, "could not be started");
}

}  // namespace pipemux
