// How the signals that end a run add up (src/cli/stop_requests.hpp): copies from a forwarding
// wrapper are one request; a later or different signal is the next.
#include <gtest/gtest.h>

#include <csignal>

#include "stop_requests.hpp"

namespace pipemux::cli {
namespace {
using namespace std::chrono_literals;
using action = stop_requests::action;

TEST(StopRequests, TheSameSignalWithinTheWindowIsACopyAndLaterIsTheNextRequest) {
  stop_requests requests;
  const auto t0 = stop_requests::clock::time_point{} + 100s;
  EXPECT_EQ(requests.on_signal(SIGINT, t0), action::stop);
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 3ms), action::copy);    // the wrapper's copy
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 999ms), action::copy);  // copies do not stretch it
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 1000ms), action::kill);
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 1001ms), action::copy);
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 2500ms), action::give_up);
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 4000ms), action::give_up);
  EXPECT_EQ(requests.first_signal(), SIGINT);
  EXPECT_EQ(requests.requests(), 4);
}

TEST(StopRequests, AnotherSignalIsAlwaysANewRequest) {
  stop_requests requests;
  const auto t0 = stop_requests::clock::time_point{} + 100s;
  EXPECT_EQ(requests.on_signal(SIGTERM, t0), action::stop);
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 1ms), action::kill);
  EXPECT_EQ(requests.on_signal(SIGINT, t0 + 2ms), action::copy);
  EXPECT_EQ(requests.on_signal(SIGHUP, t0 + 3ms), action::give_up);
  EXPECT_EQ(requests.first_signal(), SIGTERM);
}

}  // namespace
}  // namespace pipemux::cli
