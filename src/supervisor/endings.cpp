// Endings: a child's process reaped, its pipes drained or abandoned, its restart, stop_on, and
// the run's completion once every child is finished.
#include <boost/asio/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <csignal>

#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:.3g} s", std::chrono::duration<double>(ms).count());
}

}  // namespace

// A callback that throws would end a read loop half way and hang the run: instead the run
// is stopped (its output still read, and dropped) and completes with the exception.
void supervisor_core::impl::callback_threw(std::exception_ptr e) {
  callback_exception = std::move(e);
  stop();
}

void supervisor_core::impl::on_output_end(child_slot& c, stream_kind stream,
                                          std::error_code read_error) {
  // A pseudo-terminal says EIO, not EOF, once nobody holds its other side.
  if (c.program->pty && read_error == std::errc::io_error) read_error.clear();
  close_channel(c, stream);
  if (read_error)
    emit(child_event_kind::output_abandoned, c,
         "reading its output failed: " + read_error.message());
  maybe_finish_run(c);
}

void supervisor_core::impl::on_exited(child_slot& c, std::error_code wait_error, int wait_status) {
  c.exited_at = steady::now();
  stop_probing(c);
  end_input(c);
  if (wait_error) {
    // Someone else reaped it (SIGCHLD ignored, or waitpid(-1) in the host): status unknown.
    exit_status unknown;
    unknown.code = -1;
    c.life.reaped(unknown);
    emit(child_event_kind::output_abandoned, c,
         "cannot wait for the child: " + wait_error.message());
  } else {
    exit_status status = exit_status::from_wait_status(wait_status);
    const auto& codes = c.program->success_codes;
    status.listed_success =
        !status.signaled && std::find(codes.begin(), codes.end(), status.code) != codes.end();
    c.life.reaped(status);
  }
  if (c.any_channel_open()) arm_drain_timer(c);
  maybe_finish_run(c);
}

// The child is gone but its pipes are open. Output that still flows is read to the end, however
// long that takes; a pipe is abandoned only when a whole grace period passed with nothing
// written to it and nothing left in it: then something else (a background grandchild)
// holds it open, and may for ever.
void supervisor_core::impl::arm_drain_timer(child_slot& c) {
  c.reads_at_drain_check = c.reads;
  c.drain_timer.expires_after(grace_of(c));
  child_slot* slot = &c;
  c.drain_timer.async_wait(guarded([slot](impl& self, boost::system::error_code ec) {
    if (ec || !slot->any_channel_open()) return;
    // Judged only while the pipe is being read: while the consumer holds output back, the
    // run waits for it anyway.
    using verdict = detail::child_lifecycle::drain_verdict;
    if (detail::child_lifecycle::judge_drain(self.reading_paused, slot->any_channel_held(),
                                             slot->output_flowing_since_last_check()) ==
        verdict::wait_again)
      self.arm_drain_timer(*slot);
    else
      self.abandon_output(*slot);
  }));
}

void supervisor_core::impl::abandon_output(child_slot& c) {
  for (auto stream : {stream_kind::out, stream_kind::err}) {
    auto& channel = c.channels[static_cast<std::size_t>(stream)];
    if (channel.open) channel.reader->close();
    close_channel(c, stream);
  }
  emit(child_event_kind::output_abandoned, c,
       std::string(c.program->pty ? "its terminal" : "its output pipe") +
           " is still open but nothing was written to it for " + seconds_text(grace_of(c)) +
           " after the child exited (another process holds it open): closed");
  maybe_finish_run(c);  // kills the group that held it
}

// The current run ends once the process is reaped and its pipes are closed. Whatever is
// left in its process group then is an orphan of that run and is killed, as systemd does
// with a service's control group.
void supervisor_core::impl::maybe_finish_run(child_slot& c) {
  if (c.life.finished() || c.life.restart_pending() || !c.life.status() || c.any_channel_open())
    return;
  c.drain_timer.cancel();
  if (options.own_process_group) {
    if (c.process->signal(SIGKILL, true)) emit(child_event_kind::leftovers_killed, c);
    if (!guard.remove(c.info->pid)) report_guard_lost(c);
  }
  emit(child_event_kind::exited, c, {}, c.exited_at - c.started_at);
  const detail::run_end end = c.life.run_over(state == phase::running);
  if (end.restart) return schedule_restart(c, end);
  end_input(c);  // finished for good: what waited for a run fails
  if (end.stops_the_others) stop_others(c, describe(*c.life.status()));
  start_waiting_child();
  stop_deferred_children();  // its dependencies may be stopped now
  complete_if_all_finished();
}

void supervisor_core::impl::schedule_restart(child_slot& c, const detail::run_end& end) {
  c.restart_timer.expires_after(end.delay);
  child_slot* slot = &c;
  c.restart_timer.async_wait(guarded([slot](impl& self, boost::system::error_code ec) {
    // A stop() queued behind this handler cancels the restart when it runs.
    if (ec || self.stop_pending.load(std::memory_order_relaxed) || !slot->life.restart_due())
      return;
    self.spawn(*slot);
    self.complete_if_all_finished();
  }));
  if (end.attempt == 0) {  // asked for by the host: its `requested` event said so
    ++c.asked_restarts;
    return;
  }
  // After the timer is set: a stop() from inside on_event cancels it.
  emit(child_event_kind::restarting, c,
       fmt::format("it {}{}; attempt {} of {} in {}", c.life.status()->signaled ? "was " : "",
                   describe(*c.life.status()), end.attempt, options.restart.max_restarts,
                   seconds_text(end.delay)));
}

void supervisor_core::impl::stop_others(child_slot& c, const std::string& why) {
  emit(child_event_kind::stopping_others, c, why + ": stopping the other children");
  if (!ended_by) ended_by = c.info->index;
  stop();
}

void supervisor_core::impl::complete_if_all_finished() {
  if (state == phase::done || state == phase::idle) return;
  for (const auto& c : children)
    if (!c->life.finished()) return;
  if (cgroup && leftovers != leftovers_phase::done) {
    if (leftovers == leftovers_phase::not_yet) stop_leftovers();
    return;
  }
  complete();
}

void supervisor_core::impl::complete() {
  state = phase::done;
  for (auto& c : children) end_input(*c);  // those that never ran
  grace_timer.cancel();
  job_control_timer.cancel();
  guard.finish();
  remove_cgroup();  // in case there was no guard, or it was killed
  run_summary summary = summarize();
  error_code ec;
  if (callback_exception && !abandoned)
    ec = errc::callback_threw;
  else if (abandoned || caller_stopped)  // the destructor, stop() or a cancellation
    ec = asio::error::operation_aborted;
  else if (summary.any_spawn_failed())
    ec = errc::spawn_failed;
  else if (summary.any_failed())
    ec = errc::child_failed;
  finish(ec, std::move(summary));
}

run_summary supervisor_core::impl::summarize() const {
  run_summary summary;
  summary.stopped = stop_requested;
  summary.ended_by = ended_by;
  summary.callback_exception = callback_exception;
  for (const auto& c : children)
    summary.children.push_back(child_summary{*c->info, c->messages, c->bytes, c->life.status(),
                                             c->spawn_error, c->life.restarts() + c->asked_restarts,
                                             c->life.stop_sent(), c->dependency_error,
                                             c->stopped_not_alive});
  return summary;
}

// Hands the outcome over, once (posted: see initiate_run); the callbacks are dropped first.
void supervisor_core::impl::finish(error_code ec, run_summary summary) {
  state = phase::done;
  auto done = std::move(on_complete);
  on_complete = nullptr;
  drop_callbacks();
  // No batch comes after this: a receiver waiting for one gets the end.
  batches.end(abandoned ? error_code(asio::error::operation_aborted)
                        : error_code(asio::error::eof));
  if (done) done(ec, std::move(summary));
}

// What they capture is released now, or, when one of them is running (it stopped the run),
// once it has returned.
void supervisor_core::impl::drop_callbacks() {
  callbacks dropped{std::move(on_message), std::move(on_read), std::move(on_batch),
                    std::move(on_event)};
  on_message = nullptr;
  on_read = nullptr;
  on_batch = nullptr;
  on_event = nullptr;
  if (calls_running > 0 && !retired) retired.emplace(std::move(dropped));
}

}  // namespace pipemux
