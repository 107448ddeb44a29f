// The supervisor's decisions for one child, without a process: restart and backoff, stop_on,
// the stop and its grace, the drain. Each case is what a process test checks through the CLI
// (tests/process/lifecycle_test.cpp, stop_test.cpp, drain_test.cpp, program_options_test.cpp).
#include <gtest/gtest.h>

#include <csignal>
#include <vector>

#include "supervisor/child_lifecycle.hpp"

namespace pipemux::detail {
namespace {

using namespace std::chrono_literals;
using clock = child_lifecycle::clock;

exit_status exited(int code) {
  exit_status status;
  status.code = code;
  return status;
}

exit_status killed_by(int sig) {
  exit_status status;
  status.signaled = true;
  status.signal = sig;
  return status;
}

lifecycle_policy restarting(restart_mode mode, std::size_t max_restarts = 5) {
  lifecycle_policy policy;
  policy.restart = mode;
  policy.backoff.initial_delay = 100ms;
  policy.backoff.max_delay = 1000ms;
  policy.backoff.max_restarts = max_restarts;
  return policy;
}

// One run of the child: started, reaped with `status`, its pipes closed.
run_end one_run(child_lifecycle& child, exit_status status, bool run_going_on = true) {
  child.started();
  child.reaped(status);
  return child.run_over(run_going_on);
}

// Lifecycle.RestartOnFailureBacksOffAndGivesUpAfterTheMaximum
TEST(ChildLifecycle, OnFailureRestartsWithDoublingDelaysThenGivesUp) {
  child_lifecycle child(restarting(restart_mode::on_failure, 4));
  std::vector<std::chrono::milliseconds> delays;
  for (int run = 0; run < 4; ++run) {
    const run_end end = one_run(child, exited(3));
    ASSERT_TRUE(end.restart) << "run " << run;
    EXPECT_EQ(end.attempt, static_cast<std::size_t>(run + 1));
    EXPECT_TRUE(child.restart_pending());
    EXPECT_TRUE(child.restart_due());
    EXPECT_FALSE(child.restart_pending());
    delays.push_back(end.delay);
  }
  EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms}));
  const run_end last = one_run(child, exited(3));
  EXPECT_FALSE(last.restart);
  EXPECT_TRUE(child.finished());
  EXPECT_EQ(child.restarts(), 4U);
}

TEST(ChildLifecycle, TheBackoffStopsAtTheLargestDelay) {
  restart_policy policy;
  policy.initial_delay = 300ms;
  policy.max_delay = 1000ms;
  EXPECT_EQ(child_lifecycle::backoff(policy, 0), 300ms);
  EXPECT_EQ(child_lifecycle::backoff(policy, 1), 600ms);
  EXPECT_EQ(child_lifecycle::backoff(policy, 2), 1000ms);
  EXPECT_EQ(child_lifecycle::backoff(policy, 30), 1000ms);
}

// Lifecycle.AZeroRestartDelayStillBacksOff, Lifecycle.ARestartMaxDelayOfZeroKeepsTheFloor
TEST(ChildLifecycle, ZeroDelaysKeepTheFloor) {
  restart_policy policy;
  policy.initial_delay = 0ms;
  policy.max_delay = 30000ms;
  EXPECT_EQ(child_lifecycle::backoff(policy, 0), restart_policy::min_delay);
  EXPECT_EQ(child_lifecycle::backoff(policy, 2), 4 * restart_policy::min_delay);
  policy.max_delay = 0ms;
  EXPECT_EQ(child_lifecycle::backoff(policy, 0), restart_policy::min_delay);
  EXPECT_EQ(child_lifecycle::backoff(policy, 5), restart_policy::min_delay);
}

TEST(ChildLifecycle, OnFailureDoesNotRestartASuccessAlwaysDoes) {
  child_lifecycle on_failure(restarting(restart_mode::on_failure));
  EXPECT_FALSE(one_run(on_failure, exited(0)).restart);
  EXPECT_TRUE(on_failure.finished());

  child_lifecycle always(restarting(restart_mode::always));
  EXPECT_TRUE(one_run(always, exited(0)).restart);

  child_lifecycle never(restarting(restart_mode::never));
  EXPECT_FALSE(one_run(never, exited(1)).restart);
  EXPECT_FALSE(one_run(never, killed_by(SIGSEGV)).restart);
}

// ProgramOptions.AListedSuccessCodeIsNoFailureForRestartsOrTheExitCode
TEST(ChildLifecycle, AListedSuccessCodeIsNoFailure) {
  child_lifecycle child(restarting(restart_mode::on_failure));
  exit_status listed = exited(42);
  listed.listed_success = true;
  EXPECT_FALSE(one_run(child, listed).restart);
}

// A stopping run restarts nobody, and a child's end does not end it a second time.
TEST(ChildLifecycle, NothingRestartsOnceTheRunIsStopping) {
  lifecycle_policy policy = restarting(restart_mode::always);
  policy.stop_on = stop_condition::any_exit;
  child_lifecycle child(policy);
  const run_end end = one_run(child, exited(1), /*run_going_on=*/false);
  EXPECT_FALSE(end.restart);
  EXPECT_FALSE(end.stops_the_others);
  EXPECT_TRUE(child.finished());
}

// StopOn.EndsTheRunAsConfiguredWithItsExitCode (never, failure, exit; exit 0 and exit 4)
TEST(ChildLifecycle, StopOnSaysWhichEndsEndTheRun) {
  struct row {
    stop_condition stop_on;
    exit_status status;
    bool ends_the_run;
  };
  const row table[] = {
      {stop_condition::all_done, exited(0), false},
      {stop_condition::all_done, exited(4), false},
      {stop_condition::any_failure, exited(0), false},
      {stop_condition::any_failure, exited(4), true},
      {stop_condition::any_failure, killed_by(SIGKILL), true},
      {stop_condition::any_exit, exited(0), true},
      {stop_condition::any_exit, exited(4), true},
  };
  for (const row& r : table) {
    lifecycle_policy policy;
    policy.stop_on = r.stop_on;
    child_lifecycle child(policy);
    EXPECT_EQ(one_run(child, r.status).stops_the_others, r.ends_the_run)
        << describe(r.status) << " with stop_on " << static_cast<int>(r.stop_on);
  }
}

// stop_on is judged once the restarts are spent: a restarting child does not end the run.
TEST(ChildLifecycle, StopOnWaitsForTheLastRestart) {
  lifecycle_policy policy = restarting(restart_mode::on_failure, 1);
  policy.stop_on = stop_condition::any_failure;
  child_lifecycle child(policy);
  EXPECT_FALSE(one_run(child, exited(1)).stops_the_others);
  ASSERT_TRUE(child.restart_due());
  EXPECT_TRUE(one_run(child, exited(1)).stops_the_others);
}

// Lifecycle.ARestartCancelledByAStopIsNotCounted
TEST(ChildLifecycle, AStopCancelsAPendingRestartWhichIsNotCounted) {
  child_lifecycle child(restarting(restart_mode::on_failure));
  ASSERT_TRUE(one_run(child, exited(1)).restart);
  const stop_order order = child.stop(clock::now(), false, false, false);
  EXPECT_EQ(order.what, stop_order::kind::cancel_restart);
  EXPECT_EQ(child.restarts(), 0U);
  EXPECT_TRUE(child.finished());
  EXPECT_FALSE(child.restart_due());  // the timer fires late: nothing starts
}

// ProgramOptions.EachProgramIsStoppedWithItsOwnSignalAndGrace
TEST(ChildLifecycle, AStopSendsItsProgramsSignalAndItsGraceEndsLater) {
  lifecycle_policy policy;
  policy.stop_signal = SIGINT;
  policy.grace = 2s;
  child_lifecycle child(policy);
  child.started();
  const auto t0 = clock::now();
  const stop_order order = child.stop(t0, /*alive=*/true, /*output_open=*/true, false);
  EXPECT_EQ(order.what, stop_order::kind::signal);
  EXPECT_EQ(std::vector<int>(order.signals.begin(), order.signals.end()),
            (std::vector<int>{SIGINT, SIGCONT}));
  EXPECT_TRUE(child.stop_sent());
  EXPECT_EQ(child.kill_deadline(), t0 + 2s);
  EXPECT_FALSE(child.grace_over(t0 + 1999ms));
  // Lifecycle.ChildIgnoringSigtermIsKilledAfterTheGracePeriodAndTheLogSaysSo
  EXPECT_TRUE(child.grace_over(t0 + 2s));
  EXPECT_EQ(child.kill()[0], SIGKILL);
  EXPECT_FALSE(child.grace_over(t0 + 3s));
  EXPECT_EQ(child.kill_deadline(), std::nullopt);
}

// A terminal cancellation: SIGKILL at once, no grace to wait for.
TEST(ChildLifecycle, KillAtOnceSendsSigkillWithNoDeadline) {
  child_lifecycle child(lifecycle_policy{});
  child.started();
  const stop_order order = child.stop(clock::now(), true, true, /*kill_at_once=*/true);
  ASSERT_EQ(order.signals.size(), 1U);
  EXPECT_EQ(order.signals[0], SIGKILL);
  EXPECT_EQ(child.kill_deadline(), std::nullopt);
}

// Lifecycle.BackgroundGrandchildHoldingThePipeDoesNotHangPipemux: the child is reaped, its
// group (a grandchild) still holds the pipe: signalled, but the child was not "sent" a stop.
TEST(ChildLifecycle, AReapedChildWhosePipeIsOpenHasItsGroupSignalled) {
  child_lifecycle child(lifecycle_policy{});
  child.started();
  child.reaped(exited(0));
  const stop_order order = child.stop(clock::now(), /*alive=*/false, /*output_open=*/true, false);
  EXPECT_EQ(order.what, stop_order::kind::signal);
  EXPECT_EQ(order.signals[0], SIGTERM);
  EXPECT_FALSE(child.stop_sent());
  EXPECT_TRUE(child.kill_deadline().has_value());
}

TEST(ChildLifecycle, AFinishedChildIsLeftAloneByAStop) {
  child_lifecycle child(lifecycle_policy{});
  one_run(child, exited(0));
  ASSERT_TRUE(child.finished());
  EXPECT_EQ(child.stop(clock::now(), false, false, false).what, stop_order::kind::none);
  EXPECT_FALSE(child.grace_over(clock::now() + 1h));

  child_lifecycle never_started(lifecycle_policy{});
  never_started.never_runs();
  EXPECT_EQ(never_started.stop(clock::now(), false, false, false).what, stop_order::kind::none);
}

// A new run forgets what the last one was told and how it ended.
TEST(ChildLifecycle, ARestartForgetsTheLastRunsStatusAndStop) {
  child_lifecycle child(restarting(restart_mode::always));
  ASSERT_TRUE(one_run(child, exited(1)).restart);
  ASSERT_TRUE(child.restart_due());
  child.started();
  EXPECT_FALSE(child.status().has_value());
  EXPECT_FALSE(child.stop_sent());
}

// Drain.APipeHeldOpenButSilentIsAbandonedAfterTheGraceAndTheLogSaysWhy,
// Drain.APipeStillWrittenToByAGrandchildIsReadUntilItStops,
// Drain.SmallReadsAndAShortGraceStillLogEveryLineASlowReaderTakes
TEST(ChildLifecycle, APipeIsAbandonedOnlyWhenQuietReadAndNotHeld) {
  using verdict = child_lifecycle::drain_verdict;
  EXPECT_EQ(child_lifecycle::judge_drain(false, false, false), verdict::abandon);
  EXPECT_EQ(child_lifecycle::judge_drain(false, false, true), verdict::wait_again);
  EXPECT_EQ(child_lifecycle::judge_drain(true, false, false), verdict::wait_again);
  EXPECT_EQ(child_lifecycle::judge_drain(false, true, false), verdict::wait_again);
}

TEST(ChildLifecycle, APolicyIsTheProgramsOwnOverTheRuns) {
  run_options options;
  options.restart.mode = restart_mode::never;
  options.stop_on = stop_condition::any_exit;
  options.stop_signal = SIGTERM;
  options.stop_grace = 5000ms;
  program_spec spec;
  spec.restart = restart_mode::always;
  spec.stop_signal = SIGINT;
  spec.stop_grace = 250ms;
  const lifecycle_policy policy = lifecycle_policy::of(spec, options);
  EXPECT_EQ(policy.restart, restart_mode::always);
  EXPECT_EQ(policy.stop_on, stop_condition::any_exit);
  EXPECT_EQ(policy.stop_signal, SIGINT);
  EXPECT_EQ(policy.grace, 250ms);
}

// tests/process/control_test.cpp: `pipemux ctl stop` ends a child for good, as no failure and
// with no restart or stop_on, whatever its program asks.
TEST(ChildLifecycle, AStopTheHostAskedForIsNoFailureAndNoReasonToRestart) {
  lifecycle_policy policy = restarting(restart_mode::always);
  policy.stop_on = stop_condition::any_exit;
  child_lifecycle child(policy);
  child.started();
  const auto now = clock::now();
  const auto signals = child.stop_on_request(now, false);
  ASSERT_GE(signals.size(), 1U);
  EXPECT_EQ(signals[0], SIGTERM);  // then SIGCONT, for a child that was stopped
  EXPECT_TRUE(child.stopping());
  EXPECT_EQ(child.kill_deadline(), now + policy.grace);
  child.reaped(killed_by(SIGTERM));
  const run_end end = child.run_over(true);
  EXPECT_FALSE(end.restart);
  EXPECT_FALSE(end.stops_the_others);
  EXPECT_TRUE(child.finished());
  EXPECT_TRUE(child.stop_sent());
  EXPECT_FALSE(child.stopping());
  // Started again by the host: a run like any other, its restart mode back in force.
  child.revive();
  EXPECT_FALSE(child.finished());
  const run_end next = one_run(child, exited(0));
  EXPECT_TRUE(next.restart);
  EXPECT_EQ(next.attempt, 1U);
}

// `pipemux ctl restart`: at once, not counted against max_restarts, and cancelled without a
// trace by the run's stop.
TEST(ChildLifecycle, ARestartTheHostAskedForComesAtOnceAndIsNotCounted) {
  child_lifecycle child(restarting(restart_mode::never, 1));
  child.started();
  EXPECT_FALSE(child.stop_on_request(clock::now(), true).empty());
  child.reaped(killed_by(SIGTERM));
  const run_end end = child.run_over(true);
  EXPECT_TRUE(end.restart);
  EXPECT_EQ(end.delay, 0ms);
  EXPECT_EQ(end.attempt, 0U);
  EXPECT_EQ(child.restarts(), 0U);
  const stop_order order = child.stop(clock::now(), false, false, false);
  EXPECT_EQ(order.what, stop_order::kind::cancel_restart);
  EXPECT_EQ(child.restarts(), 0U);  // nothing was counted, nothing is taken back
  EXPECT_TRUE(child.finished());
  // A restart asked while the run is stopping does not happen.
  child_lifecycle other(restarting(restart_mode::never));
  other.started();
  other.stop_on_request(clock::now(), true);
  other.reaped(killed_by(SIGTERM));
  EXPECT_FALSE(other.run_over(false).restart);
  EXPECT_TRUE(other.finished());
}

}  // namespace
}  // namespace pipemux::detail
