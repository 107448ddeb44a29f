// When a dependency is met, still to come, or failed (readiness/dependency_state), and the
// mistakes in a run's dependencies, without a process.
#include <gtest/gtest.h>

#include "readiness/dependency_state.hpp"
#include "readiness/probe_target.hpp"

namespace pipemux::detail {
namespace {

using state = dependency_verdict::state;

child_progress running(bool ready) {
  child_progress c;
  c.started = true;
  c.ready = ready;
  return c;
}

child_progress exited(int code, bool success) {
  child_progress c;
  c.started = true;
  c.finished = true;
  exit_status status;
  status.code = code;
  c.status = status;
  c.succeeded = success;
  return c;
}

TEST(DependencyState, StartedAndReadyWaitForEveryChildOfTheProgram) {
  const std::vector<child_progress> one_waiting = {running(true), child_progress{}};
  EXPECT_EQ(judge_dependency(dependency_condition::started, one_waiting).what, state::waiting);
  const std::vector<child_progress> both_running = {running(false), running(true)};
  EXPECT_EQ(judge_dependency(dependency_condition::started, both_running).what, state::met);
  EXPECT_EQ(judge_dependency(dependency_condition::ready, both_running).what, state::waiting);
  const std::vector<child_progress> both_ready = {running(true), running(true)};
  EXPECT_EQ(judge_dependency(dependency_condition::ready, both_ready).what, state::met);
  // A program without children is no reason to wait.
  EXPECT_EQ(judge_dependency(dependency_condition::ready, {}).what, state::met);
}

TEST(DependencyState, ReadyFailsWhenAChildEndsBeforeItOrTimesOut) {
  const std::vector<child_progress> ended = {running(true), exited(0, true)};
  const auto verdict = judge_dependency(dependency_condition::ready, ended);
  EXPECT_EQ(verdict.what, state::failed);
  EXPECT_EQ(verdict.why, "exited with code 0 before it was ready");
  child_progress late = running(false);
  late.not_ready = "after 2.000 s (tcp db:5432: Connection refused)";
  const std::vector<child_progress> timed_out = {late};
  EXPECT_EQ(judge_dependency(dependency_condition::ready, timed_out).why,
            "was not ready after 2.000 s (tcp db:5432: Connection refused)");
  // Ready once, then ended: still met (its dependents have started by then).
  child_progress done = exited(0, true);
  done.ready = true;
  const std::vector<child_progress> was_ready = {done};
  EXPECT_EQ(judge_dependency(dependency_condition::ready, was_ready).what, state::met);
  // A restart to come is not the end: `finished` is false until the last one.
  child_progress restarting = running(false);
  restarting.status = exited(1, false).status;
  const std::vector<child_progress> will_restart = {restarting};
  EXPECT_EQ(judge_dependency(dependency_condition::ready, will_restart).what, state::waiting);
}

TEST(DependencyState, CompletedNeedsSuccessAndExitedAnyEnd) {
  const std::vector<child_progress> ok = {exited(0, true), exited(130, true)};
  EXPECT_EQ(judge_dependency(dependency_condition::completed, ok).what, state::met);
  const std::vector<child_progress> one_failed = {exited(0, true), exited(2, false)};
  const auto verdict = judge_dependency(dependency_condition::completed, one_failed);
  EXPECT_EQ(verdict.what, state::failed);
  EXPECT_EQ(verdict.why, "exited with code 2");
  EXPECT_EQ(judge_dependency(dependency_condition::exited, one_failed).what, state::met);
  const std::vector<child_progress> still_running = {exited(2, false), running(true)};
  EXPECT_EQ(judge_dependency(dependency_condition::exited, still_running).what, state::waiting);
}

TEST(DependencyState, AChildThatNeverStartedFailsEveryCondition) {
  child_progress never;
  never.finished = true;
  never.start_error = "cannot start 'pg': not found in PATH";
  const std::vector<child_progress> children = {never};
  for (auto condition : {dependency_condition::started, dependency_condition::ready,
                         dependency_condition::completed, dependency_condition::exited}) {
    const auto verdict = judge_dependency(condition, children);
    EXPECT_EQ(verdict.what, state::failed) << name_of(condition, dependency_condition_names);
    EXPECT_EQ(verdict.why, "did not start: cannot start 'pg': not found in PATH");
  }
}

std::vector<program_spec> programs(
    std::initializer_list<std::pair<const char*, std::vector<const char*>>> list) {
  std::vector<program_spec> out;
  for (const auto& [name, deps] : list) {
    program_spec spec{name, {"true"}};
    for (const char* d : deps) spec.depends_on.push_back({d});
    out.push_back(spec);
  }
  return out;
}

TEST(DependencyState, UnknownNamesSelfDependenciesAndCyclesAreFoundWithTheProgramAtFault) {
  std::size_t where = 99;
  EXPECT_EQ(dependency_problem(programs({{"a", {}}, {"b", {"a"}}, {"c", {"a", "b"}}}), where), "");
  EXPECT_EQ(dependency_problem(programs({{"a", {}}, {"b", {"x"}}}), where),
            "depends on 'x', which is not a program of this run");
  EXPECT_EQ(where, 1u);
  EXPECT_EQ(dependency_problem(programs({{"a", {"a"}}}), where), "depends on itself");
  EXPECT_EQ(
      dependency_problem(programs({{"a", {"c"}}, {"b", {"a"}}, {"c", {"b"}}, {"d", {"a"}}}), where),
      "is in a dependency cycle: a -> c -> b -> a");
  EXPECT_EQ(where, 1u);
}

TEST(ProbeTarget, HostPortAndHttpUrlsAreCheckedUpFront) {
  std::string host, port, path, why;
  EXPECT_TRUE(split_host_port("localhost:8080", host, port));
  EXPECT_EQ(host, "localhost");
  EXPECT_EQ(port, "8080");
  EXPECT_TRUE(split_host_port("[::1]:5432", host, port));
  EXPECT_EQ(host, "::1");
  for (const char* bad : {"localhost", ":80", "h:", "h:0", "h:65536", "h:8o", "::1:80", "[]:1"})
    EXPECT_FALSE(split_host_port(bad, host, port)) << bad;
  EXPECT_TRUE(split_http_url("http://127.0.0.1:8000/health?x=1", host, port, path, why));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "8000");
  EXPECT_EQ(path, "/health?x=1");
  EXPECT_TRUE(split_http_url("http://example", host, port, path, why));
  EXPECT_EQ(port, "80");
  EXPECT_EQ(path, "/");
  EXPECT_TRUE(split_http_url("http://[::1]/", host, port, path, why));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(split_http_url("https://x/", host, port, path, why));
  EXPECT_EQ(why, "https is not probed (use an exec probe: curl -fsS URL)");
  EXPECT_FALSE(split_http_url("http://u@x/", host, port, path, why));
  EXPECT_FALSE(split_http_url("http://x/a b", host, port, path, why));
  EXPECT_EQ(target_problem(probe_kind::log, "(unclosed").substr(0, 28),
            "not a valid regular expressi");
  EXPECT_EQ(target_problem(probe_kind::exec, ""), "must not be empty");
  EXPECT_EQ(target_problem(probe_kind::log, "ready"), "");
}

}  // namespace
}  // namespace pipemux::detail
