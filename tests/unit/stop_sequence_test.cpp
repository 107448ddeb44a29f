// The one stop sequence (pipemux/stop_sequence.hpp) used for children, cgroup leftovers and the
// CLI's escaped descendants: what is sent at each step, and when the grace ends.
#include "pipemux/stop_sequence.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

namespace {

using pipemux::stop_sequence;
using namespace std::chrono_literals;
using clock_type = stop_sequence::clock;

std::vector<int> list(const stop_sequence::signal_list& signals) {
  return {signals.begin(), signals.end()};
}

TEST(StopSequence, NothingIsSentBeforeTheStop) {
  const stop_sequence sequence(SIGTERM, 5s);
  EXPECT_TRUE(list(sequence.signals_now()).empty());
  EXPECT_FALSE(sequence.stopping());
  EXPECT_FALSE(sequence.kill_deadline().has_value());
  EXPECT_FALSE(sequence.kill_due(clock_type::now() + 1h));
}

TEST(StopSequence, TheStopSignalThenSigcontThenSigkillWhenTheGraceEnds) {
  stop_sequence sequence(SIGINT, 2s);
  const auto t0 = clock_type::now();
  EXPECT_EQ(list(sequence.stop(t0)), (std::vector<int>{SIGINT, SIGCONT}));
  EXPECT_EQ(sequence.kill_deadline(), t0 + 2s);
  EXPECT_FALSE(sequence.kill_due(t0 + 1999ms));
  EXPECT_TRUE(sequence.kill_due(t0 + 2s));
  // A newcomer during the grace gets the stop signal too.
  EXPECT_EQ(list(sequence.signals_now()), (std::vector<int>{SIGINT, SIGCONT}));
  EXPECT_EQ(list(sequence.kill()), std::vector<int>{SIGKILL});
  EXPECT_TRUE(sequence.killed());
  EXPECT_FALSE(sequence.kill_due(t0 + 1h));
  EXPECT_FALSE(sequence.kill_deadline().has_value());
  EXPECT_EQ(list(sequence.signals_now()), std::vector<int>{SIGKILL});
}

TEST(StopSequence, ASecondStopKillsAtOnce) {
  stop_sequence sequence(SIGTERM, 5s);
  const auto t0 = clock_type::now();
  sequence.stop(t0);
  EXPECT_EQ(list(sequence.stop(t0 + 1s)), std::vector<int>{SIGKILL});
  EXPECT_TRUE(sequence.killed());
  EXPECT_FALSE(sequence.kill_deadline().has_value());
}

TEST(StopSequence, KillAtOnceOrAStopSignalOfSigkillHasNoGraceAndNoSigcont) {
  stop_sequence cancelled(SIGTERM, 5s);
  EXPECT_EQ(list(cancelled.stop(clock_type::now(), /*kill_at_once=*/true)),
            std::vector<int>{SIGKILL});
  EXPECT_FALSE(cancelled.kill_deadline().has_value());

  stop_sequence sigkill(SIGKILL, 5s);
  EXPECT_EQ(list(sigkill.stop(clock_type::now())), std::vector<int>{SIGKILL});
  EXPECT_TRUE(sigkill.killed());
}

TEST(StopSequence, AKillWithoutAStopIsAStopToo) {
  stop_sequence sequence(SIGTERM, 5s);
  EXPECT_EQ(list(sequence.kill()), std::vector<int>{SIGKILL});
  EXPECT_TRUE(sequence.stopping());
  EXPECT_TRUE(sequence.killed());
}

TEST(StopSequence, NoGraceMeansTheKillIsDueAtTheStop) {
  stop_sequence sequence(SIGTERM, 0ms);
  const auto t0 = clock_type::now();
  EXPECT_EQ(list(sequence.stop(t0)), (std::vector<int>{SIGTERM, SIGCONT}));
  EXPECT_TRUE(sequence.kill_due(t0));
}

}  // namespace
