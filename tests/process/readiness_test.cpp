// Dependencies and readiness through real programs: a log line, a TCP listener and a Python
// HTTP server that are ready late, an exec probe, `completed`, a dependency that fails or never
// gets ready, the reverse order of a stop, a liveness probe that restarts a program that stops
// answering (the library's own: readiness_library_test.cpp).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "log_line.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::pipemux_exe;
using test::run_command;

std::string config_file(const std::string& name, const std::string& text) {
  std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// Where `text` is in `out`; fails the test when it is not there.
std::size_t position(const std::string& out, const std::string& text) {
  const auto at = out.find(text);
  EXPECT_NE(at, std::string::npos) << "no \"" << text << "\" in:\n" << out;
  return at;
}

// Where `pattern` first matches in `out`, or npos.
std::size_t match_at(const std::string& out, const char* pattern) {
  std::smatch match;
  if (!std::regex_search(out, match, std::regex(pattern))) return std::string::npos;
  return static_cast<std::size_t>(match.position(0));
}

test::command_result run_config(const std::string& path, std::vector<std::string> extra = {},
                                const test::command_options& options = {}) {
  std::vector<std::string> argv = {pipemux_exe(), "-c", path};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv, options);
}

TEST(Readiness, ALogLineMakesAProgramReadyAndItsDependentStartsAfterIt) {
  const auto path = config_file("log.toml", R"(
[[program]]
name = "web"
command = "echo web up"
depends_on = { db = "ready" }

[[program]]
name = "db"
command = "echo starting; sleep 0.4; echo 'listening on port 5432'; sleep 0.2"
[program.ready]
log = "listening on port \\d+"
)");
  const auto result = run_config(path);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto& out = result.out;
  const auto waiting = position(out, "web.0[-1] - * waiting for db (ready)\n");
  const auto line = position(out, "out | listening on port 5432\n");
  const std::regex ready(
      R"(db\.0 \[\d+\] - \* ready after (0\.[3-9]\d\d|[1-9]\d*\.\d{3}) s \(log matched "listening on port \\\\d\+"\)\n)");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(out, match, ready)) << out;
  const auto ready_at = static_cast<std::size_t>(match.position(0));
  const auto web_start = position(out, "web.0[");
  EXPECT_EQ(out.find("web.0[-1] - * waiting"), web_start);  // its first line: it waits
  EXPECT_LT(waiting, line);
  EXPECT_LT(line, ready_at);  // the line that made it ready comes first
  EXPECT_LT(ready_at, position(out, "- * started: /bin/sh -c echo web up")) << out;
  // Ready once, and only where a probe asks: web has no ready line.
  EXPECT_EQ(out.find("* ready", ready_at + match.length(0)), std::string::npos) << out;
}

// The dependents connect to what they depend on and say what they got: ready means serving.
TEST(Readiness, ATcpListenerAndAnHttpServerAreReadyWhenTheyAnswer) {
  const int tcp_port = test::free_port();
  const int http_port = test::free_port();
  const auto path = config_file("net.toml", fmt::format(R"(
[[program]]
name = "listener"
command = ["python3", "-u", "-c", """
import socket, time
time.sleep(0.5)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', {0})); s.listen(8)
print('listening', flush=True)
while True:
    c, _ = s.accept(); c.sendall(b'hello'); c.close()
"""]
[program.ready]
tcp = "127.0.0.1:{0}"
interval = 0.05

[[program]]
name = "site"
command = "sleep 0.3; exec python3 -m http.server {1} --bind 127.0.0.1"
[program.ready]
http = "http://127.0.0.1:{1}/"
interval = 0.05

[[program]]
name = "client"
depends_on = {{ listener = "ready", site = "ready" }}
command = ["python3", "-c", """
import socket, urllib.request
s = socket.create_connection(('127.0.0.1', {0})); print('tcp got', s.recv(5).decode())
print('http got', urllib.request.urlopen('http://127.0.0.1:{1}/').status)
"""]
)",
                                                        tcp_port, http_port));
  const auto result =
      run_config(path, {"--stop-on", "exit"});  // the servers are stopped when client exits
  const auto& out = result.out;
  EXPECT_NE(out.find("client.0"), std::string::npos) << out << result.err;
  EXPECT_NE(out.find("out | tcp got hello\n"), std::string::npos) << out;
  EXPECT_NE(out.find("out | http got 200\n"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(
      out,
      std::regex(fmt::format(
          R"(listener\.0\[\d+\] - \* ready after (0\.[4-9]\d\d|[1-9]\d*\.\d{{3}}) s \(tcp 127\.0\.0\.1:{}: accepted\))",
          tcp_port))))
      << out;
  EXPECT_TRUE(std::regex_search(
      out,
      std::regex(fmt::format(
          R"(site\.0 +\[\d+\] - \* ready after \d\.\d{{3}} s \(http http://127\.0\.0\.1:{}/: answered 200\))",
          http_port))))
      << out;
  EXPECT_LT(match_at(out, R"(listener\.0\[\d+\] - \* ready after)"),
            match_at(out, R"(client\.0 +\[\d+\] - \* started)"))
      << out;
  EXPECT_LT(match_at(out, R"(site\.0 +\[\d+\] - \* ready after)"),
            match_at(out, R"(client\.0 +\[\d+\] - \* started)"))
      << out;
  EXPECT_EQ(out.find("not ready"), std::string::npos) << out;
}

TEST(Readiness, AnExecProbeAndACompletedDependency) {
  const std::string dir = test::temp_path("exec-probe");
  std::filesystem::create_directories(dir);
  const auto path = config_file("exec.toml", fmt::format(R"(
[[program]]
name = "maker"
command = "sleep 0.3; echo made > {0}/flag; exec sleep 30"
[program.ready]
exec = "test -f {0}/flag"
interval = 0.05

[[program]]
name = "migrate"
command = "sleep 0.2; echo migrated > {0}/migrated"
depends_on = ["maker"]

[[program]]
name = "user"
command = "cat {0}/flag {0}/migrated"
stop_on = "exit"
depends_on = {{ maker = "ready", migrate = "completed" }}
)",
                                                         dir));
  const auto result = run_config(path, {"--success", "user"});
  const auto& out = result.out;
  // Started only once the flag existed and migrate had exited 0: it reads both.
  EXPECT_NE(out.find("user.0"), std::string::npos) << out;
  const auto maker_ready = position(out, "- * ready after ");
  EXPECT_NE(out.find(" s (exec test -f " + dir + "/flag: exited 0)\n"), std::string::npos) << out;
  const auto migrate_start = position(out, "migrate.0[");
  EXPECT_LT(out.find("migrate.0[-1] - * waiting for maker (ready)"), maker_ready);
  EXPECT_LT(maker_ready, out.find("- * started", migrate_start)) << out;
  EXPECT_NE(out.find("user.0   [-1] - * waiting for maker (ready), migrate (completed)\n"),
            std::string::npos)
      << out;
  EXPECT_LT(position(out, "migrate.0["), position(out, "user.0   [")) << out;
  EXPECT_NE(out.find("out | made\n"), std::string::npos) << out;
  EXPECT_NE(out.find("out | migrated\n"), std::string::npos) << out;
  EXPECT_EQ(result.exit_code, 0) << out << result.err;
}

TEST(Readiness, ADependencyThatExitsBeforeItIsReadyStopsTheRunWithALineSayingWhy) {
  const auto path = config_file("fails.toml", R"(
[[program]]
name = "web"
command = "echo never"
depends_on = { db = "ready" }

[[program]]
name = "db"
command = "echo cannot open data; exit 3"
[program.ready]
log = "ready"

[[program]]
name = "other"
command = "exec sleep 30"
)");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_config(path);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 1) << result.out;
  const auto& out = result.out;
  EXPECT_EQ(out.find("out | never"), std::string::npos) << out;
  EXPECT_NE(
      out.find("web.0  [-1] - * not started: its dependency 'db' exited with code 3 before it "
               "was ready\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("web.0  [-1] - * a dependency failed: stopping the other children\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("other.0"), std::string::npos);
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(other\.0\[\d+\] - \* killed by SIGTERM)")))
      << out;
  EXPECT_NE(out.find("web.0  [-1] - * summary: 0 messages, 0 bytes, not started, 0 restarts"),
            std::string::npos)
      << out;
}

TEST(Readiness, AProgramNeverReadyWithinItsTimeoutFailsItsDependents) {
  const auto path = config_file("timeout.toml", R"(
[[program]]
name = "web"
command = "echo never"
depends_on = { db = "ready" }

[[program]]
name = "db"
command = "exec sleep 30"
[program.ready]
exec = "echo no; exit 1"
interval = 0.1
timeout = 0.5
)");
  const auto result = run_config(path);
  EXPECT_EQ(result.exit_code, 1) << result.out;
  const auto& out = result.out;
  EXPECT_TRUE(std::regex_search(
      out,
      std::regex(
          R"(db\.0 \[\d+\] - \* not ready after 0\.500 s \(exec echo no; exit 1: exited with code 1\)\n)")))
      << out;
  EXPECT_NE(out.find("web.0[-1] - * not started: its dependency 'db' was not ready after 0.500 s "
                     "(exec echo no; exit 1: exited with code 1)\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("out | never"), std::string::npos);
}

TEST(Readiness, AWaitingProgramMayStartAnywayOrBeSkipped) {
  const auto path = config_file("choices.toml", R"(
[[program]]
name = "brave"
command = "echo brave ran"
depends_on = { db = "completed" }
on_dependency_failure = "start"

[[program]]
name = "careful"
command = "echo careful ran"
depends_on = { db = "completed" }
on_dependency_failure = "skip"

[[program]]
name = "db"
command = "sleep 0.2; exit 4"

[[program]]
name = "bystander"
command = "sleep 0.6; echo bystander done"
)");
  const auto result = run_config(path);
  const auto& out = result.out;
  EXPECT_EQ(result.exit_code, 1) << out;
  EXPECT_NE(out.find("* its dependency 'db' exited with code 4: starting anyway\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("out | brave ran\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* not started: its dependency 'db' exited with code 4\n"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("careful ran"), std::string::npos) << out;
  // The run went on: nobody was stopped.
  EXPECT_NE(out.find("out | bystander done\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("stopping the other children"), std::string::npos) << out;
}

// One SIGTERM: web (which depends on db) gets it first and takes 0.5 s to end; db gets its
// stop signal only after web has exited. A dependent that ignores it is killed after its
// grace, and then the dependency is stopped.
TEST(Readiness, AStopGoesToDependentsFirstAndToTheirDependenciesOnceTheyHaveEnded) {
  const auto path = config_file("order.toml", R"(
stop_grace = 1
[[program]]
name = "web"
command = "trap 'echo web got TERM; sleep 0.5; echo web bye; exit 0' TERM; echo web up; while :; do sleep 0.05; done"
depends_on = { db = "started" }

[[program]]
name = "stubborn"
command = "trap 'echo stubborn ignores TERM' TERM; echo stubborn up; while :; do sleep 0.05; done"
depends_on = ["db"]

[[program]]
name = "db"
command = "trap 'echo db got TERM; exit 0' TERM; echo db up; while :; do sleep 0.05; done"
)");
  const auto result = run_config(path, {}, test::signal_when(SIGTERM, [](const std::string& out) {
                                   return out.find("out | web up") != std::string::npos &&
                                          out.find("out | stubborn up") != std::string::npos;
                                 }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  const auto& out = result.out;
  const auto web_bye = position(out, "out | web bye\n");
  const auto stubborn_killed = position(out, "stubborn.0");
  const auto killed =
      out.find("still running after the grace period: sent SIGKILL", stubborn_killed);
  const auto db_term = position(out, "out | db got TERM\n");
  EXPECT_LT(position(out, "out | web got TERM\n"), web_bye);
  EXPECT_NE(killed, std::string::npos) << out;
  EXPECT_LT(web_bye, db_term) << out;
  EXPECT_LT(killed, db_term) << out;
}

// A server that answers one request, then stops answering (its socket closed, the process
// alive): its liveness probe fails twice, it is stopped as a failure and restarted once.
TEST(Readiness, AProgramThatStopsAnsweringIsRestartedByItsLivenessProbe) {
  const int port = test::free_port();
  const auto path = config_file("alive.toml", fmt::format(R"(
max_restarts = 1
stop_grace = 1
[[program]]
name = "srv"
restart = "on-failure"
command = ["python3", "-u", "-c", """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', {0})); s.listen(8)
c, _ = s.accept(); c.close(); s.close()
print('stopped answering', flush=True)
time.sleep(60)
"""]
[program.ready]
tcp = "127.0.0.1:{0}"
interval = 0.05
[program.alive]
tcp = "127.0.0.1:{0}"
interval = 0.1
timeout = 0.5
failures = 2
)",
                                                          port));
  const auto result = run_config(path);
  const auto& out = result.out;
  EXPECT_EQ(result.exit_code, 1) << out;
  const std::regex not_alive(fmt::format(
      R"(srv\.0\[\d+\] - \* not alive: 2 probes failed in a row \(last: tcp 127\.0\.0\.1:{}: Connection refused\): stopping it\n)",
      port));
  const auto count = std::distance(std::sregex_iterator(out.begin(), out.end(), not_alive),
                                   std::sregex_iterator());
  EXPECT_EQ(count, 2) << out;  // its first run and its one restart
  EXPECT_NE(out.find("- * restarting: "), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(
      out,
      std::regex(R"(summary: 2 messages, \d+ bytes, killed by SIGTERM \(not alive\), 1 restart)")))
      << out;
}

// One SIGINT while a dependent waits to restart: its restart is cancelled, and its dependency,
// listed first, is stopped then and there (it was waiting for the dependent to end).
TEST(Readiness, OneStopEndsARunWhoseDependentWaitsToRestart) {
  const auto path = config_file("restart-wait.toml", R"(
restart_delay = 20
[[program]]
name = "db"
command = "echo db up; exec sleep 3600"
[[program]]
name = "web"
command = "sleep 0.2; exit 1"
restart = "always"
depends_on = { db = "started" }
)");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_config(
      path, {},
      test::signal_when(
          SIGINT,
          [](const std::string& out) { return out.find("- * restarting: ") != std::string::npos; },
          30s));
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << result.out;
  EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.out;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(db\.0 \[\d+\] - \* killed by SIGTERM)")))
      << result.out;
  EXPECT_EQ(result.out.find("asked to stop a second time"), std::string::npos) << result.out;
}

// Exec probes are children of pipemux too: the CLI's reaper of orphans must leave them to the
// supervisor (it once reaped them first, and healthy programs failed their probes).
TEST(Readiness, ExecProbesAreNotTakenByTheReaperOfOrphans) {
  const auto path = config_file("exec-many.toml", R"(
[[program]]
name = "w"
instances = 10
command = "echo up; exec sleep 3600"
[program.alive]
exec = "exit 0"
interval = 0.02
failures = 1
)");
  // About 750 probes in 1.5 s, each a process that exits and must be reaped by its attempt.
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  const auto result = run_config(path, {}, test::signal_when(SIGTERM, [&](const std::string&) {
                                   return std::chrono::steady_clock::now() >= until;
                                 }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  EXPECT_EQ(result.out.find("not alive"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("an orphaned descendant"), std::string::npos) << result.out;
}

// A pattern that backtracks without end on a line the child wrote gives up on that line; the
// loop goes on (it froze once, deaf to Ctrl-C), and the next line can still match.
TEST(Readiness, ARegexThatBacktracksForEverDoesNotFreezeTheLoop) {
  const auto path = config_file("costly.toml", R"(
[[program]]
name = "db"
command = "echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; sleep 0.1; echo ready now"
[program.ready]
log = "(a+)+b|^ready"
)");
  const auto result = run_config(path, {}, {.timeout = 20s});
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find(R"(- * ready after )"), std::string::npos) << result.out;
}

// pipemux killed with SIGKILL: what an exec probe started dies too (the guard has its group).
TEST(Readiness, AnExecProbesProcessesDieWithPipemux) {
  const std::string sleep = test::long_sleep();
  const auto path = config_file("probe-guard.toml", fmt::format(R"(
[[program]]
name = "db"
command = "echo up; exec sleep 3600"
[program.ready]
exec = "{}; true"
interval = 30
)",
                                                                sleep));
  // Killed once the probe's shell has started its sleep (both show the marker), a moment
  // after: the guard hears of a probe's group just after its exec, as of a child's.
  std::optional<std::chrono::steady_clock::time_point> seen;
  const auto result =
      run_config(path, {}, {.timeout = 30s, .watch = [&](int pid, const std::string&) {
                              if (!seen) {
                                if (test::processes_with(sleep).size() < 2) return false;
                                seen = std::chrono::steady_clock::now();
                              }
                              if (std::chrono::steady_clock::now() - *seen < 100ms) return false;
                              ::kill(pid, SIGKILL);
                              return true;
                            }});
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_TRUE(test::none_left(sleep, 5s)) << "the probe's sleep outlived pipemux";
}

TEST(Readiness, JsonLinesSayEachTransitionsKind) {
  const auto path = config_file("json.toml", R"(
[[program]]
name = "web"
command = "true"
depends_on = ["db"]
[[program]]
name = "db"
command = "echo up"
[program.ready]
log = "up"
)");
  const auto result = run_config(path, {"--format", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(
      result.out.find(R"js("kind":"waiting","level":"info","message":"waiting for db (ready)")js"),
      std::string::npos)
      << result.out;
  EXPECT_TRUE(std::regex_search(
      result.out,
      std::regex(R"("name":"db",.*"kind":"ready","level":"info","message":"ready after )")))
      << result.out;
}

}  // namespace
}  // namespace pipemux
