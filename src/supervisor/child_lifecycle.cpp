#include "supervisor/child_lifecycle.hpp"

#include <algorithm>

namespace pipemux::detail {

lifecycle_policy lifecycle_policy::of(const program_spec& spec, const run_options& options) {
  return {.restart = spec.restart.value_or(options.restart.mode),
          .backoff = options.restart,
          .stop_on = spec.stop_on.value_or(options.stop_on),
          .stop_signal = spec.stop_signal.value_or(options.stop_signal),
          .grace = spec.stop_grace.value_or(options.stop_grace)};
}

void child_lifecycle::started() {
  status_.reset();
  stop_sent_ = false;
  failed_probe_ = false;
  stopped_on_request_ = false;
  restart_asked_ = false;
  stopping_ = stop_sequence(policy_.stop_signal, policy_.grace);
}

void child_lifecycle::never_runs() {
  status_.reset();
  restart_pending_ = false;
  finished_ = true;
}

stop_sequence::signal_list child_lifecycle::stop_on_request(clock::time_point now,
                                                            bool then_restart) {
  stopped_on_request_ = true;
  restart_asked_ = then_restart;
  stop_sent_ = true;
  failed_probe_ = false;  // stopped by the host, whatever a probe said before
  if (stopping_.stopping()) return {};
  return stopping_.stop(now);
}

void child_lifecycle::revive() {
  finished_ = false;
  restart_pending_ = false;
  asked_restart_pending_ = false;
}

run_end child_lifecycle::run_over(bool run_going_on) {
  if (stopped_on_request_) {
    if (run_going_on && restart_asked_) {
      restart_pending_ = true;
      asked_restart_pending_ = true;
      return {.restart = true, .delay = std::chrono::milliseconds(0), .attempt = 0};
    }
    finished_ = true;
    return {};
  }
  const bool success = status_ && status_->success() && !failed_probe_;
  const bool wants_restart = policy_.restart == restart_mode::always ||
                             (policy_.restart == restart_mode::on_failure && !success);
  if (run_going_on && wants_restart && restarts_ < policy_.backoff.max_restarts) {
    const auto delay = backoff(policy_.backoff, restarts_);
    ++restarts_;
    restart_pending_ = true;
    return {.restart = true, .delay = delay, .attempt = restarts_};
  }
  finished_ = true;
  const bool ends_run = policy_.stop_on == stop_condition::any_exit ||
                        (policy_.stop_on == stop_condition::any_failure && !success);
  return {.stops_the_others = run_going_on && ends_run};
}

bool child_lifecycle::restart_due() {
  if (!restart_pending_) return false;
  restart_pending_ = false;
  asked_restart_pending_ = false;
  return true;
}

stop_order child_lifecycle::stop(clock::time_point now, bool alive, bool output_open,
                                 bool kill_at_once) {
  if (finished_) return {};
  if (restart_pending_) {  // not running: it simply does not come back
    restart_pending_ = false;
    if (!asked_restart_pending_) --restarts_;  // counted when it was scheduled; never happened
    asked_restart_pending_ = false;
    finished_ = true;
    return {.what = stop_order::kind::cancel_restart, .signals = {}};
  }
  if (alive) stop_sent_ = true;
  // Stopped alone already (stop_alone): its grace goes on; a second stop signal would be
  // taken as a second stop (SIGKILL).
  if (stopping_.stopping() && !kill_at_once)
    return {.what = stop_order::kind::signal, .signals = {}};
  const auto signals = stopping_.stop(now, kill_at_once);
  // A reaped child's group may still hold its pipe through a grandchild: signalled too.
  if (!alive && !output_open) return {};
  return {.what = stop_order::kind::signal, .signals = signals};
}

std::optional<child_lifecycle::clock::time_point> child_lifecycle::kill_deadline() const {
  if (finished_) return std::nullopt;
  return stopping_.kill_deadline();
}

bool child_lifecycle::grace_over(clock::time_point now) const {
  return !finished_ && stopping_.kill_due(now);
}

child_lifecycle::drain_verdict child_lifecycle::judge_drain(bool reading_paused, bool output_held,
                                                            bool output_flowed) {
  return reading_paused || output_held || output_flowed ? drain_verdict::wait_again
                                                        : drain_verdict::abandon;
}

std::chrono::milliseconds child_lifecycle::backoff(const restart_policy& policy,
                                                   std::size_t restarts_before) {
  // A floor, so that restart_delay = 0 still backs off (10, 20, 40 ms...) instead of forking
  // a failing child as fast as the machine can.
  auto delay = std::max(policy.initial_delay, restart_policy::min_delay);
  for (std::size_t i = 0; i < restarts_before && delay < policy.max_delay; ++i) delay *= 2;
  return std::min(delay, std::max(policy.max_delay, restart_policy::min_delay));  // floor too
}

}  // namespace pipemux::detail
