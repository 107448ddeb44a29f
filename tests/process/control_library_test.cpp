// Operating a run through the library (control.hpp): a service embedding the supervisor asks
// for status, restarts, stops and scales on its own io_context, and hears of each through the
// same events the CLI logs.
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <optional>
#include <string>
#include <vector>

#include "pipemux/pipemux.hpp"

namespace pipemux {
namespace {

namespace asio = boost::asio;

struct answer {
  std::error_code ec;
  std::string said;
};

TEST(ControlLibrary, RestartScaleAndStopThroughTheSupervisor) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  program_spec web{"web", {"/bin/sh", "-c", "echo up $PIPEMUX_CHILD_INSTANCE; exec sleep 600"}};
  std::vector<std::string> seen;  // "web.N started" / "requested: ..." in order
  std::vector<answer> answers;
  std::vector<std::vector<child_status>> statuses;
  const auto keep = [&answers](std::error_code ec, std::string said) {
    answers.emplace_back(answer{ec, std::move(said)});
  };
  int step = 0;
  int ups = 0;
  std::optional<run_summary> summary;
  error_code run_error;
  sup.async_run(
      {web},
      [&](const message& m) {
        if (m.bytes.starts_with("up ")) {
          seen.emplace_back(m.bytes);
          ++ups;
        }
        // Each step once the previous one's child says it is up.
        if (step == 0 && m.bytes == "up 0") {
          step = 1;
          sup.status([&](std::vector<child_status> all) { statuses.push_back(std::move(all)); });
          sup.restart_children({"web", 0}, "the test", keep);
        } else if (step == 1 && ups == 2) {
          step = 2;
          sup.scale("web", 2, "the test", keep);
        } else if (step == 2 && m.bytes == "up 1") {
          step = 3;
          sup.status([&](std::vector<child_status> all) { statuses.push_back(std::move(all)); });
          sup.stop_children({"web", 7}, "the test", keep);
          sup.stop_children({"nope", {}}, "the test", keep);
          sup.scale("web", 2 + supervisor::max_scaled_children, "the test", keep);
          sup.stop_children({"web", {}}, "the test", keep);  // every child: the run ends
        }
      },
      [&](const child_event& e) {
        if (e.kind == child_event_kind::requested) seen.push_back("requested: " + e.detail);
      },
      [&](error_code ec, run_summary s) {
        run_error = ec;
        summary = std::move(s);
      });
  io.run();
  ASSERT_TRUE(summary);
  EXPECT_FALSE(run_error) << run_error.message();  // stopped children are no failure
  EXPECT_EQ(seen, (std::vector<std::string>{"up 0", "requested: restart asked by the test", "up 0",
                                            "requested: scale to 2 asked by the test", "up 1",
                                            "requested: stop asked by the test",
                                            "requested: stop asked by the test"}));
  ASSERT_EQ(answers.size(), 6U);
  EXPECT_FALSE(answers[0].ec);
  EXPECT_EQ(answers[0].said, "web.0: restarting");
  EXPECT_EQ(answers[1].said, "web.1: started");
  EXPECT_EQ(answers[2].ec, std::errc::no_such_process);
  EXPECT_EQ(answers[2].said, "no child web.7: web has 2 (numbered from 0)");
  EXPECT_EQ(answers[3].ec, std::errc::no_such_process);
  EXPECT_EQ(answers[3].said, "no program named 'nope'");
  EXPECT_EQ(answers[4].ec, std::errc::invalid_argument);
  EXPECT_EQ(answers[5].said, "web.0: stopping; web.1: stopping");
  ASSERT_EQ(statuses.size(), 2U);
  ASSERT_EQ(statuses[0].size(), 1U);
  EXPECT_EQ(statuses[0][0].state, child_state::running);
  EXPECT_GT(statuses[0][0].child.pid, 0);
  ASSERT_EQ(statuses[1].size(), 2U);
  EXPECT_EQ(statuses[1][0].restarts, 1U);
  EXPECT_NE(statuses[1][0].child.pid, statuses[0][0].child.pid);
  EXPECT_EQ(statuses[1][1].child.index, 1U);
  EXPECT_EQ(statuses[1][1].child.instance, 1U);
  ASSERT_EQ(summary->children.size(), 2U);
  for (const auto& c : summary->children) {
    EXPECT_TRUE(c.stopped);
    EXPECT_FALSE(c.failed());
  }
  EXPECT_EQ(summary->children[0].restarts, 1U);
  // The run is over: status still answers; actions are refused.
  std::optional<answer> late;
  std::vector<child_status> after;
  sup.status([&](std::vector<child_status> all) { after = std::move(all); });
  sup.start_children({"web", {}}, "the test", [&](std::error_code ec, std::string said) {
    late = answer{ec, std::move(said)};
  });
  io.restart();
  io.run();
  ASSERT_EQ(after.size(), 2U);
  EXPECT_EQ(after[0].state, child_state::exited);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->ec, std::errc::operation_not_permitted);
  EXPECT_EQ(late->said, "the run is over");
}

// A restart the host asks for does not wait for the backoff, and a child that has not
// started yet (max_running) starts at once when asked.
TEST(ControlLibrary, AStartAskedForSkipsTheQueue) {
  asio::io_context io;
  run_options options;
  options.max_running = 1;
  supervisor sup(io.get_executor(), options);
  program_spec first{"first", {"/bin/sh", "-c", "echo first; exec sleep 600"}};
  program_spec second{"second", {"/bin/sh", "-c", "echo second; exec sleep 600"}};
  std::vector<child_status> before;
  std::string said;
  sup.async_run(
      {first, second},
      [&](const message& m) {
        if (m.bytes == "first") {
          sup.status([&](std::vector<child_status> all) { before = std::move(all); });
          sup.start_children({"second", {}}, "the test",
                             [&](std::error_code, std::string what) { said = std::move(what); });
        }
        if (m.bytes == "second") sup.stop();
      },
      [](const child_event&) {}, [](error_code, const run_summary&) {});
  io.run();
  ASSERT_EQ(before.size(), 2U);
  EXPECT_EQ(before[1].state, child_state::waiting);
  EXPECT_EQ(said, "second.0: started");
}

}  // namespace
}  // namespace pipemux
