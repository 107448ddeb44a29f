// One child's life across its restarts, decided without I/O: the supervisor says what
// happened (it started, it was reaped, its output ended, a stop, a timer) and carries out the
// answer (signal it, arm a timer, start it again, be done with it). The rules of restart,
// backoff, stop_on, the grace and the drain live here alone, so that
// tests/unit/child_lifecycle_test.cpp checks them without a process, in milliseconds.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "pipemux/exit_status.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"
#include "pipemux/stop_sequence.hpp"

namespace pipemux::detail {

/// A program's own choices over the run's.
struct lifecycle_policy {
  restart_mode restart = restart_mode::never;
  restart_policy backoff;  ///< delays and the most restarts (its `mode` is not read)
  stop_condition stop_on = stop_condition::all_done;
  int stop_signal = 15;  ///< SIGTERM
  std::chrono::milliseconds grace{5000};

  static lifecycle_policy of(const program_spec& spec, const run_options& options);
};

/// A run (one process and its pipes) is over: start again later, or be done.
struct run_end {
  bool restart = false;
  std::chrono::milliseconds delay{0};  ///< restart: after this long
  std::size_t attempt = 0;             ///< restart: which one, from 1; 0: one the host asked for
  bool stops_the_others = false;       ///< done, and its stop_on ends the whole run
};

/// What a stop of the run asks done to this child.
struct stop_order {
  enum class kind { none, cancel_restart, signal };
  kind what = kind::none;
  stop_sequence::signal_list signals;  ///< kind::signal: to its process group, in this order
};

class child_lifecycle {
 public:
  using clock = std::chrono::steady_clock;

  explicit child_lifecycle(lifecycle_policy policy)
      : policy_(policy), stopping_(policy.stop_signal, policy.grace) {}

  /// A process of it runs: nothing is known of it yet.
  void started();
  /// It could not be started, or never will be: done for good.
  void never_runs();
  /// Its process was reaped with `status`.
  void reaped(exit_status status) { status_ = status; }

  /// Its process is reaped and its pipes closed. `run_going_on`: the run was not asked to
  /// stop (a stopping run restarts nobody, and nobody's stop_on ends it a second time).
  run_end run_over(bool run_going_on);
  /// The restart's delay has passed: true when it is still to start again.
  bool restart_due();

  /// The run is stopping. `alive`: its process is not reaped; `output_open`: one of its pipes
  /// is (a grandchild in its group may hold it). `kill_at_once`: SIGKILL, no grace.
  stop_order stop(clock::time_point now, bool alive, bool output_open, bool kill_at_once);
  /// Its liveness probe failed (program_spec::alive): its stop signal now, SIGKILL after its
  /// grace, while the run goes on. Not a stop of the run's: the end counts as a failure.
  stop_sequence::signal_list stop_alone(clock::time_point now) {
    failed_probe_ = true;
    return stopping_.stop(now);
  }
  /// The host asked it stopped (control.hpp), and `then_restart` started again at once:
  /// its stop signal now, SIGKILL after its grace. Its end is neither a failure nor a reason
  /// to restart on its own or to end the run. Nothing to send when it is stopping already.
  stop_sequence::signal_list stop_on_request(clock::time_point now, bool then_restart);
  /// Stopped on request and not ended yet: starts again once it has (a scale back up).
  void restart_once_over() noexcept {
    if (stopped_on_request_) restart_asked_ = true;
  }
  bool stopped_on_request() const noexcept { return stopped_on_request_; }
  /// Done for now: runs again now. Its automatic restarts so far still count (max_restarts).
  void revive();
  /// Its stop signal went out and it has not been reaped since.
  bool stopping() const noexcept { return stopping_.stopping() && !finished_; }

  /// When its grace ends, from a stop until it is killed or done.
  std::optional<clock::time_point> kill_deadline() const;
  /// Whether it is to be killed at `now`: its grace is over.
  bool grace_over(clock::time_point now) const;
  /// Its grace is over, or no more is given: the signal to send (SIGKILL); no deadline any more.
  stop_sequence::signal_list kill() { return stopping_.kill(); }

  /// Its process is reaped but a pipe is still open: after a grace period, is that pipe given
  /// up? Only when nothing was read from it meanwhile, nothing waits in it, and the consumer
  /// took everything (while output is held back, the run waits for it anyway).
  enum class drain_verdict { wait_again, abandon };
  static drain_verdict judge_drain(bool reading_paused, bool output_held, bool output_flowed);

  /// The delay before restart number `restarts_before + 1`: doubling from the initial delay,
  /// up to the largest, never under restart_policy::min_delay.
  static std::chrono::milliseconds backoff(const restart_policy& policy,
                                           std::size_t restarts_before);

  bool finished() const noexcept { return finished_; }
  bool restart_pending() const noexcept { return restart_pending_; }
  std::size_t restarts() const noexcept { return restarts_; }
  /// Its current process was sent the stop signal while it ran.
  bool stop_sent() const noexcept { return stop_sent_; }
  const std::optional<exit_status>& status() const noexcept { return status_; }
  const lifecycle_policy& policy() const noexcept { return policy_; }

 private:
  lifecycle_policy policy_;
  std::optional<exit_status> status_;
  std::size_t restarts_ = 0;
  bool restart_pending_ = false;
  bool stop_sent_ = false;
  stop_sequence stopping_;  ///< of its current process
  bool finished_ = false;
  bool failed_probe_ = false;  ///< its current run was stopped alone: however it ends, it failed
  bool stopped_on_request_ = false;     ///< its current run was stopped by the host (control)
  bool restart_asked_ = false;          ///< and is to start again once it has ended
  bool asked_restart_pending_ = false;  ///< the pending restart is the host's (not counted)
};

}  // namespace pipemux::detail
