// Dependencies and readiness through the library: an embedding service waits for a helper to
// be ready through the same events the CLI logs, and programs no run can use are refused.
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipemux/pipemux.hpp"

namespace pipemux {
namespace {

// The library: an embedding service waits for readiness through the same events.
TEST(Readiness, TheLibraryReportsReadyBeforeTheDependentStarts) {
  namespace asio = boost::asio;
  asio::io_context io;
  supervisor sup(io.get_executor());
  program_spec db{"db", {"/bin/sh", "-c", "sleep 0.2; echo accepting; sleep 0.1"}};
  db.ready = probe{.kind = probe_kind::log, .target = "^accepting$"};
  program_spec web{"web", {"/bin/sh", "-c", "echo hi"}};
  web.depends_on = {{"db", dependency_condition::ready}};
  std::vector<std::string> order;
  std::optional<run_summary> summary;
  sup.async_run(
      {web, db}, [](const message&) {},
      [&](const child_event& e) {
        if (e.kind == child_event_kind::ready || e.kind == child_event_kind::started ||
            e.kind == child_event_kind::waiting)
          order.push_back(e.child->name + " " + describe(e).substr(0, 5));
      },
      [&](error_code, run_summary s) { summary = std::move(s); });
  io.run();
  ASSERT_TRUE(summary);
  EXPECT_FALSE(summary->any_failed());
  EXPECT_EQ(order, (std::vector<std::string>{"web waiti", "db start", "db ready", "web start"}));
}

TEST(Readiness, TheLibraryRefusesUnknownDependenciesCyclesAndBadProbes) {
  namespace asio = boost::asio;
  const auto refusal = [](std::vector<program_spec> programs) {
    asio::io_context io;
    supervisor sup(io.get_executor());
    try {
      sup.async_run(
          std::move(programs), [](const message&) {}, [](const child_event&) {},
          [](error_code, const run_summary&) {});
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  program_spec a{"a", {"true"}};
  program_spec b{"b", {"true"}};
  a.depends_on = {{"nobody"}};
  EXPECT_EQ(refusal({a}),
            "pipemux::supervisor: program 'a': depends on 'nobody', which is not a program of "
            "this run");
  a.depends_on = {{"b"}};
  b.depends_on = {{"a", dependency_condition::started}};
  EXPECT_EQ(refusal({a, b}),
            "pipemux::supervisor: program 'b': is in a dependency cycle: a -> b -> a");
  b.depends_on.clear();
  b.ready = probe{.kind = probe_kind::tcp, .target = "localhost"};
  EXPECT_EQ(refusal({a, b}),
            "pipemux::supervisor: program 'b': ready: must be HOST:PORT (\"localhost:8080\", "
            "\"[::1]:8080\"; a port is 1 to 65535)");
  b.ready.reset();
  b.alive = probe{.kind = probe_kind::log, .target = "x"};
  EXPECT_NE(refusal({a, b}).find("alive: a log probe cannot tell"), std::string::npos);
}

}  // namespace
}  // namespace pipemux
