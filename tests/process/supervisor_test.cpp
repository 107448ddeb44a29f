// Tests for include/pipemux/supervisor.hpp, through real pipes and real child processes.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <csignal>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "pipemux/supervisor.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

struct recorded_message {
  std::size_t index;
  std::string name;
  int pid;
  piece_kind kind;
  std::string bytes;
};

struct recorded_event {
  child_event_kind kind;
  std::size_t index;
  std::string name;
  int pid;
  std::optional<exit_status> status;
  std::string detail;
};

struct recorded_run {
  std::vector<recorded_message> messages;
  std::vector<recorded_event> events;
  std::optional<run_summary> summary;
  error_code error;

  std::vector<recorded_message> of(std::size_t index) const {
    std::vector<recorded_message> out;
    for (const auto& m : messages)
      if (m.index == index) out.push_back(m);
    return out;
  }
  const recorded_event* event(child_event_kind kind, std::size_t index) const {
    for (const auto& e : events)
      if (e.kind == kind && e.index == index) return &e;
    return nullptr;
  }
};

// Runs the programs to completion on a fresh io_context. `on_message` may stop the supervisor.
recorded_run run_supervised(std::vector<program_spec> programs, run_options options = {},
                            std::function<void(supervisor&, const recorded_run&)> on_message = {}) {
  asio::io_context io;
  supervisor sup(io.get_executor(), options);
  recorded_run run;
  asio::steady_timer watchdog(io, 120s);
  watchdog.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    ADD_FAILURE() << "watchdog: the run did not finish";
    sup.stop();
    sup.stop();
  });
  sup.async_run(
      std::move(programs),
      [&](const message& m) {
        run.messages.push_back(
            {m.child->index, m.child->name, m.child->pid, m.kind, std::string(m.bytes)});
        if (on_message) on_message(sup, run);
      },
      [&](const child_event& e) {
        run.events.push_back(
            {e.kind, e.child->index, e.child->name, e.child->pid, e.status, e.detail});
      },
      [&](error_code ec, run_summary s) {
        run.error = ec;
        run.summary = std::move(s);
        watchdog.cancel();
      });
  io.run();
  EXPECT_TRUE(test::children_of(::getpid()).empty()) << "a child was left behind (zombie?)";
  return run;
}

program_spec spam(std::size_t instances, std::uint64_t count, std::vector<std::string> extra = {}) {
  program_spec spec;
  spec.name = "spam";
  spec.argv = {test::pipemux_exe(), "spam", "--count",   std::to_string(count),
               "--interval",        "0",    "--sequence"};
  spec.argv.insert(spec.argv.end(), extra.begin(), extra.end());
  spec.instances = instances;
  return spec;
}

program_spec shell(std::string name, std::string script, std::size_t instances = 1) {
  program_spec spec;
  spec.name = std::move(name);
  spec.argv = {"/bin/sh", "-c", std::move(script)};
  spec.instances = instances;
  return spec;
}

std::string spam_line(std::uint64_t seq, std::size_t index) {
  return "Spam " + std::to_string(seq % 5) + " child=" + std::to_string(index) +
         " seq=" + std::to_string(seq);
}

// Every child's messages are exactly its sequence 0..count-1, in order, each once, as whole
// lines, with the identity of the child that wrote them.
void expect_every_message_once_in_order(std::size_t children, std::uint64_t count) {
  const recorded_run run = run_supervised({spam(children, count)});
  ASSERT_TRUE(run.summary);
  ASSERT_EQ(run.messages.size(), children * count);
  std::vector<std::uint64_t> next(children, 0);
  std::vector<int> pids(children, -1);
  for (const auto& e : run.events)
    if (e.kind == child_event_kind::started) pids.at(e.index) = e.pid;
  for (const auto& m : run.messages) {
    ASSERT_LT(m.index, children);
    ASSERT_EQ(m.kind, piece_kind::line);
    ASSERT_EQ(m.name, "spam");
    ASSERT_EQ(m.pid, pids[m.index]);
    ASSERT_EQ(m.bytes, spam_line(next[m.index], m.index)) << "child " << m.index;
    ++next[m.index];
  }
  for (std::size_t i = 0; i < children; ++i) {
    EXPECT_EQ(next[i], count) << "child " << i;
    const auto* exited = run.event(child_event_kind::exited, i);
    ASSERT_NE(exited, nullptr);
    EXPECT_TRUE(exited->status->success());
    EXPECT_EQ(run.summary->children[i].messages, count);
  }
  EXPECT_FALSE(run.summary->any_failed());
}

TEST(Supervisor, OneSpamChildEveryMessageOnceInOrder) {
  expect_every_message_once_in_order(1, 10000);
}
TEST(Supervisor, FourSpamChildrenEveryMessageOnceInOrder) {
  expect_every_message_once_in_order(4, 10000);
}
TEST(Supervisor, SixtyFourSpamChildrenEveryMessageOnceInOrder) {
  expect_every_message_once_in_order(64, 10000);
}

// run_options::max_running through the API: the second and third programs start only as the
// one before is done for good, in order; a program's `port` reaches each of its children.
TEST(Supervisor, MaxRunningStartsTheRestAsOthersAreDoneAndPortsCountPerChild) {
  run_options options;
  options.max_running = 1;
  program_spec first{"first", {"/bin/sh", "-c", "sleep 0.1; echo $PORT"}, 2};
  first.port = 7000;
  const recorded_run run =
      run_supervised({first, {"second", {"/bin/sh", "-c", "echo second"}, 1}}, options);
  EXPECT_FALSE(run.error) << run.error.message();
  std::vector<std::string> order;  // "+name.index" at its start, "-name.index" at its exit
  for (const auto& e : run.events)
    if (e.kind == child_event_kind::started || e.kind == child_event_kind::exited)
      order.push_back((e.kind == child_event_kind::started ? "+" : "-") + e.name + "." +
                      std::to_string(e.index));
  EXPECT_EQ(order, (std::vector<std::string>{"+first.0", "-first.0", "+first.1", "-first.1",
                                             "+second.2", "-second.2"}));
  ASSERT_EQ(run.of(0).size(), 1U);
  EXPECT_EQ(run.of(0)[0].bytes, "7000");
  ASSERT_EQ(run.of(1).size(), 1U);
  EXPECT_EQ(run.of(1)[0].bytes, "7001");
  ASSERT_EQ(run.of(2).size(), 1U);
  EXPECT_EQ(run.of(2)[0].bytes, "second");
}

// program_spec::input: what is sent before the child starts waits for it (and says so at once:
// operation_in_progress), close_input gives it its EOF after that; a child without input
// refuses what is sent (broken_pipe).
TEST(Supervisor, InputGoesToAChildsStdinAndClosingItEndsIt) {
  asio::io_context io;
  run_options options;
  options.max_running = 1;  // the reader starts once "deaf" is done: what it is sent waits
  supervisor sup(io.get_executor(), options);
  program_spec reader{"reader", {"/bin/sh", "-c", "cat; echo eof"}};
  reader.input = true;
  std::vector<std::string> said;
  std::vector<std::error_code> written(4, std::make_error_code(std::errc::interrupted));
  std::optional<run_summary> summary;
  sup.async_run(
      {shell("deaf", "sleep 0.2"), reader},
      [&](const message& m) {
        said.emplace_back(m.bytes);
        // Running now: a write is completed once its pipe has it.
        if (m.bytes == "one")
          sup.send_input(1, "three\n", [&](std::error_code ec) {
            written[3] = ec;
            sup.close_input(1);
          });
      },
      [](const child_event&) {}, [&](error_code, run_summary s) { summary = std::move(s); });
  sup.send_input(1, "one\n", [&](std::error_code ec) { written[0] = ec; });
  sup.send_input(1, "two\n", [&](std::error_code ec) { written[1] = ec; });
  sup.send_input(0, "nobody reads this", [&](std::error_code ec) { written[2] = ec; });
  io.run();
  ASSERT_TRUE(summary);
  EXPECT_FALSE(summary->any_failed());
  EXPECT_EQ(said, (std::vector<std::string>{"one", "two", "three", "eof"}));
  EXPECT_EQ(written[0], std::make_error_code(std::errc::operation_in_progress));
  EXPECT_EQ(written[1], std::make_error_code(std::errc::operation_in_progress));
  EXPECT_EQ(written[2], std::make_error_code(std::errc::broken_pipe));
  EXPECT_EQ(written[3], std::error_code());
}

TEST(Supervisor, RawModeDeliversExactlyTheBytesWritten) {
  run_options options;
  options.framing = framing_mode::raw;
  options.read_size = 32;
  const recorded_run run = run_supervised({spam(3, 2000)}, options);
  for (std::size_t child = 0; child < 3; ++child) {
    std::string expected, joined;
    for (std::uint64_t n = 0; n < 2000; ++n) expected += spam_line(n, child) + "\n";
    for (const auto& m : run.of(child)) {
      ASSERT_EQ(m.kind, piece_kind::chunk);
      ASSERT_LE(m.bytes.size(), 32u);
      joined += m.bytes;
    }
    EXPECT_EQ(joined, expected) << "child " << child;
  }
}

TEST(Supervisor, LongLinesArriveInPiecesAndPartialLastLineAtEof) {
  run_options options;
  options.max_line = 1000;
  const recorded_run run = run_supervised(
      {shell("long", "head -c 2500 /dev/zero | tr '\\0' x; echo; printf 'no newline'")}, options);
  const auto messages = run.of(0);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].kind, piece_kind::continued);
  EXPECT_EQ(messages[0].bytes, std::string(1000, 'x'));
  EXPECT_EQ(messages[1].kind, piece_kind::continued);
  EXPECT_EQ(messages[2].kind, piece_kind::line);
  EXPECT_EQ(messages[2].bytes, std::string(500, 'x'));
  EXPECT_EQ(messages[3].kind, piece_kind::partial);
  EXPECT_EQ(messages[3].bytes, "no newline");
}

TEST(Supervisor, ExitCodeAndKillingSignalAreReported) {
  const recorded_run run =
      run_supervised({shell("fails", "echo bye; exit 3"),
                      shell("killed", "echo before; kill -9 $$"), shell("fine", "echo ok")});
  ASSERT_TRUE(run.summary);
  const auto* fails = run.event(child_event_kind::exited, 0);
  ASSERT_NE(fails, nullptr);
  EXPECT_FALSE(fails->status->signaled);
  EXPECT_EQ(fails->status->code, 3);
  const auto* killed = run.event(child_event_kind::exited, 1);
  ASSERT_NE(killed, nullptr);
  EXPECT_TRUE(killed->status->signaled);
  EXPECT_EQ(killed->status->signal, SIGKILL);
  EXPECT_EQ(describe(*killed->status), "killed by SIGKILL");
  EXPECT_EQ(run.of(0).at(0).bytes, "bye");
  EXPECT_EQ(run.of(1).at(0).bytes, "before");
  EXPECT_TRUE(run.event(child_event_kind::exited, 2)->status->success());
  EXPECT_TRUE(run.summary->any_failed());
}

TEST(Supervisor, ProgramsThatCannotStartAreReportedWhileOthersAreServed) {
  const std::string not_executable = test::temp_path("pipemux_not_executable");
  std::ofstream(not_executable) << "#!/bin/sh\necho never\n";
  ::chmod(not_executable.c_str(), 0644);
  program_spec missing_path{"ghost", {"/nonexistent/program"}, 1, {}, {}};
  program_spec missing_search{"nowhere", {"pipemux-no-such-program"}, 1, {}, {}};
  program_spec no_exec{"noexec", {not_executable}, 1, {}, {}};
  const recorded_run run =
      run_supervised({missing_path, shell("served", "for i in 1 2 3; do echo line $i; done", 2),
                      missing_search, no_exec});
  ASSERT_TRUE(run.summary);
  const auto* ghost = run.event(child_event_kind::spawn_failed, 0);
  ASSERT_NE(ghost, nullptr);
  EXPECT_EQ(ghost->detail, "cannot start '/nonexistent/program': no such file");
  const auto* nowhere = run.event(child_event_kind::spawn_failed, 3);
  ASSERT_NE(nowhere, nullptr);
  EXPECT_EQ(nowhere->detail, "cannot start 'pipemux-no-such-program': not found in PATH");
  const auto* noexec = run.event(child_event_kind::spawn_failed, 4);
  ASSERT_NE(noexec, nullptr);
  EXPECT_NE(noexec->detail.find("permission denied"), std::string::npos) << noexec->detail;
  for (std::size_t served : {1u, 2u}) {
    const auto lines = run.of(served);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[2].bytes, "line 3");
  }
  EXPECT_TRUE(run.summary->any_spawn_failed());
  EXPECT_EQ(run.summary->children[0].spawn_error, ghost->detail);
}

TEST(Supervisor, StopMidRunStillLogsEverythingAlreadyWritten) {
  // Each child records the last line it finished writing; after the stop, every line up to
  // that one must have been delivered, in order, exactly once.
  const std::string dir = test::temp_path("");
  const auto script = "i=0; while :; do echo \"line $i\"; echo $i > " + dir +
                      "pipemux_written_$PIPEMUX_CHILD_INDEX; i=$((i+1)); done";
  constexpr std::size_t children = 4;
  bool stopped = false;
  const recorded_run run = run_supervised({shell("writer", script, children)}, {},
                                          [&](supervisor& sup, const recorded_run& so_far) {
                                            if (!stopped && so_far.messages.size() >= 4000) {
                                              stopped = true;
                                              sup.stop();
                                            }
                                          });
  ASSERT_TRUE(run.summary);
  EXPECT_TRUE(run.summary->stopped);
  for (std::size_t child = 0; child < children; ++child) {
    std::ifstream record(dir + "pipemux_written_" + std::to_string(child));
    long long last_written = -1;
    record >> last_written;
    const auto lines = run.of(child);
    ASSERT_GE(static_cast<long long>(lines.size()), last_written + 1) << "child " << child;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      ASSERT_EQ(lines[i].bytes, "line " + std::to_string(i)) << "child " << child;
      ASSERT_EQ(lines[i].kind, piece_kind::line);
    }
    const auto* exited = run.event(child_event_kind::exited, child);
    ASSERT_NE(exited, nullptr);
    EXPECT_TRUE(exited->status->signaled);
    EXPECT_EQ(exited->status->signal, SIGTERM);
  }
}

TEST(Supervisor, ChildrenHoldNoFdButZeroOneAndTwo) {
  // A descriptor this process leaks (no O_CLOEXEC) must not reach the children either.
  const int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  const recorded_run run = run_supervised({shell("fds", "sleep 0.2; ls /proc/$$/fd", 4)});
  ::close(leaked);
  for (std::size_t child = 0; child < 4; ++child) {
    std::set<std::string> fds;
    for (const auto& m : run.of(child)) fds.insert(m.bytes);
    EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2"})) << "child " << child;
  }
}

TEST(Supervisor, ChildrenKnowWhoTheyAre) {
  const recorded_run run = run_supervised(
      {shell("a", "echo $PIPEMUX_CHILD_NAME $PIPEMUX_CHILD_INDEX $PIPEMUX_CHILD_INSTANCE", 2),
       shell("b", "echo $PIPEMUX_CHILD_NAME $PIPEMUX_CHILD_INDEX $PIPEMUX_CHILD_INSTANCE")});
  EXPECT_EQ(run.of(0).at(0).bytes, "a 0 0");
  EXPECT_EQ(run.of(1).at(0).bytes, "a 1 1");
  EXPECT_EQ(run.of(2).at(0).bytes, "b 2 0");
  EXPECT_EQ(run.of(2).at(0).name, "b");
}

TEST(Supervisor, AKeptMessageNamesTheRunThatWroteItAfterTheSupervisorIsGone) {
  // A child that says its pid and fails, restarted once. The messages and events are kept as
  // they came (copies, identity and all) and read only once the supervisor is destroyed.
  std::vector<message> kept;
  std::vector<std::string> bytes;
  std::vector<child_event> exits;
  {
    asio::io_context io;
    run_options options;
    options.restart = {.mode = restart_mode::on_failure,
                       .initial_delay = restart_policy::min_delay,
                       .max_restarts = 1};
    supervisor sup(io.get_executor(), options);
    sup.async_run(
        {shell("sayer", "echo $$; exit 3")},
        [&](const message& m) {
          kept.push_back(m);
          bytes.emplace_back(m.bytes);
        },
        [&](const child_event& e) {
          if (e.kind == child_event_kind::exited) exits.push_back(e);
        },
        [](error_code, const run_summary&) {});
    io.run();
  }
  ASSERT_EQ(kept.size(), 2u);
  ASSERT_EQ(exits.size(), 2u);
  for (std::size_t run = 0; run < 2; ++run) {
    EXPECT_EQ(kept[run].child->name, "sayer");
    EXPECT_EQ(kept[run].child->index, 0u);
    EXPECT_EQ(std::to_string(kept[run].child->pid), bytes[run]) << "run " << run;
    EXPECT_EQ(exits[run].child->pid, kept[run].child->pid) << "run " << run;
  }
  EXPECT_NE(kept[0].child->pid, kept[1].child->pid);
}

TEST(Supervisor, EnvironmentAndWorkingDirectoryFromTheSpec) {
  program_spec spec = shell("env", "echo \"$GREETING\"; pwd");
  spec.environment = {{"GREETING", "hello there"}};
  spec.working_directory = "/tmp";
  const recorded_run run = run_supervised({spec});
  ASSERT_EQ(run.of(0).size(), 2u);
  EXPECT_EQ(run.of(0)[0].bytes, "hello there");
  EXPECT_EQ(run.of(0)[1].bytes, "/tmp");
}

TEST(Supervisor, PipeHeldByABackgroundGrandchildIsClosedAfterTheGracePeriod) {
  run_options options;
  options.stop_grace = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const recorded_run run = run_supervised({shell("bg", "sleep 30 & echo hi")}, options);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 10s);
  ASSERT_EQ(run.of(0).size(), 1u);
  EXPECT_EQ(run.of(0)[0].bytes, "hi");
  const auto* abandoned = run.event(child_event_kind::output_abandoned, 0);
  ASSERT_NE(abandoned, nullptr);
  EXPECT_NE(abandoned->detail.find("still open"), std::string::npos);
  ::kill(-run.events.front().pid, SIGKILL);  // the grandchild is still in the child's group
}

TEST(Supervisor, ChildThatIgnoresTheStopSignalIsKilledAfterTheGracePeriod) {
  run_options options;
  options.stop_grace = 200ms;
  bool stopped = false;
  const recorded_run run =
      run_supervised({shell("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done")},
                     options, [&](supervisor& sup, const recorded_run&) {
                       if (!std::exchange(stopped, true)) sup.stop();
                     });
  ASSERT_NE(run.event(child_event_kind::stop_escalated, 0), nullptr);
  const auto* exited = run.event(child_event_kind::exited, 0);
  ASSERT_NE(exited, nullptr);
  EXPECT_EQ(exited->status->signal, SIGKILL);
}

TEST(Supervisor, OutputIsReadWhileLaterChildrenAreStillBeingStarted) {
  // Children are started one per handler: the first child's line arrives before the last
  // child has started, not after the whole batch of forks.
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::size_t started_before_first_line = 0, started = 0;
  bool first_line = false;
  sup.async_run(
      {shell("quick", "echo hi", 200)},
      [&](const message&) {
        if (!std::exchange(first_line, true)) started_before_first_line = started;
      },
      [&](const child_event& e) { started += e.kind == child_event_kind::started; },
      [](error_code, const run_summary&) {});
  io.run();
  EXPECT_EQ(started, 200u);
  EXPECT_LT(started_before_first_line, 200u);
}

TEST(Supervisor, StopWhileStartingLeavesTheRestUnstarted) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::size_t started = 0;
  std::optional<run_summary> summary;
  sup.async_run(
      {shell("sleeper", "sleep 100", 50)}, [](const message&) {},
      [&](const child_event& e) {
        if (e.kind == child_event_kind::started && ++started == 3) sup.stop();
      },
      [&](error_code ec, run_summary s) {
        EXPECT_EQ(ec, asio::error::operation_aborted);
        summary = std::move(s);
      });
  io.run();
  ASSERT_TRUE(summary);
  EXPECT_EQ(started, 3u);
  std::size_t never_ran = 0;
  for (const auto& c : summary->children) never_ran += !c.status && c.spawn_error.empty();
  EXPECT_EQ(never_ran, 47u);
}

TEST(Supervisor, EmptyRunCompletesAtOnce) {
  const recorded_run run = run_supervised({});
  ASSERT_TRUE(run.summary);
  EXPECT_TRUE(run.summary->children.empty());
}

// The pid of our child process named `name` (as /proc/PID/comm shows it), or -1.
int child_named(const std::string& name) {
  for (int pid : test::children_of(::getpid())) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string comm_name;
    std::getline(comm, comm_name);
    if (comm_name == name) return pid;
  }
  return -1;
}

// Whether process `pid` has exited (a zombie, or reaped).
bool has_exited(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close_paren = line.rfind(')');
  return close_paren == std::string::npos || line.substr(close_paren + 2, 1) == "Z";
}

TEST(Supervisor, AKilledGuardNeverRaisesSigpipeInTheHostAndIsReported) {
  // Someone kills pipemux-guard mid-run: the next word to it (when the child ends) must not
  // raise SIGPIPE in this process (it would kill the test), and the loss is reported.
  ASSERT_NE(::signal(SIGPIPE, SIG_DFL), SIG_ERR);
  // The child ends once the guard is dead: not after a pause the guard's death might outlast.
  const std::string guard_dead = test::temp_path("pipemux_guard_dead");
  std::remove(guard_dead.c_str());
  const recorded_run run = run_supervised(
      {shell("worker",
             "echo up; while [ ! -e " + guard_dead + " ]; do sleep 0.01; done; echo done")},
      {}, [killed = false, &guard_dead](supervisor&, const recorded_run& so_far) mutable {
        if (killed || so_far.messages.empty()) return;
        killed = true;
        // The guard is started before the child, but may not have exec'd its program yet: look
        // until it has (the loop's thread waits here: nothing else is due meanwhile).
        int guard = -1;
        EXPECT_TRUE(test::eventually([&] { return (guard = child_named("pipemux-guard")) > 0; }))
            << "no pipemux-guard among our children";
        if (guard <= 0) return;
        ::kill(guard, SIGKILL);
        EXPECT_TRUE(test::eventually([&] { return has_exited(guard); }));
        std::ofstream(guard_dead).put('\n');
      });
  ASSERT_TRUE(run.summary);
  EXPECT_FALSE(run.error) << run.error.message();
  ASSERT_EQ(run.messages.size(), 2u);
  EXPECT_EQ(run.messages[1].bytes, "done");
  const auto* lost = run.event(child_event_kind::guard_lost, 0);
  ASSERT_NE(lost, nullptr) << "the guard's death was not reported";
  EXPECT_NE(lost->detail.find("pipemux-guard"), std::string::npos) << lost->detail;
}

TEST(Supervisor, AMissingGuardProgramLeavesTheRunUnguardedAndIsReported) {
  // An installation without libexec/pipemux/pipemux-guard: the run goes on, and says once that
  // a SIGKILL of this process would leave grandchildren, and why.
  const std::string missing = test::temp_path("pipemux_no_such_dir") + "/pipemux-guard";
  recorded_run run;
  {
    const test::scoped_environment_variable guard_program("PIPEMUX_GUARD_EXECUTABLE", missing);
    run = run_supervised({shell("worker", "echo one"), shell("other", "echo two")});
  }
  ASSERT_TRUE(run.summary);
  EXPECT_FALSE(run.error) << run.error.message();
  EXPECT_EQ(run.messages.size(), 2u);
  std::size_t reports = 0;
  for (const auto& e : run.events)
    if (e.kind == child_event_kind::guard_lost) {
      ++reports;
      EXPECT_NE(e.detail.find(missing + ": No such file or directory"), std::string::npos)
          << e.detail;
    }
  EXPECT_EQ(reports, 1u) << "once per run";
}

TEST(Supervisor, InACgroupWhatAChildLeftBehindIsStoppedAndNamedBeforeTheRunCompletes) {
  if (!test::can_make_cgroups()) GTEST_SKIP() << "no cgroup v2 to write here";
  // A sleep in a session of its own outlives the child; this process is no subreaper, so only
  // the cgroup knows it came from the child.
  const std::string sleep = test::long_sleep();
  run_options options;
  options.cgroup = cgroup_mode::if_available;
  options.stop_grace = 2s;
  // The worker ends once the sleep has exec'd (setsid -f returns at its fork): before that,
  // the leftover would still be named setsid.
  const std::string running = test::temp_path("pipemux_leftover_running");
  std::remove(running.c_str());
  const recorded_run run = run_supervised(
      {shell("worker", "setsid -f " + sleep + " >/dev/null 2>&1; echo up; while [ ! -e " + running +
                           " ]; do sleep 0.01; done")},
      options, [&](supervisor&, const recorded_run& so_far) {
        if (so_far.messages.size() != 1) return;
        EXPECT_TRUE(test::eventually([&] { return !test::processes_running(sleep).empty(); }));
        std::ofstream(running).put('\n');
      });
  ASSERT_TRUE(run.summary);
  EXPECT_FALSE(run.error) << run.error.message();
  const auto* stopping = run.event(child_event_kind::leftovers_stopping, 0);
  ASSERT_NE(stopping, nullptr) << "the leftover was not reported";
  EXPECT_TRUE(std::regex_match(
      stopping->detail, std::regex(R"(still running after it ended: sleep\[\d+\]: sent SIGTERM)")))
      << stopping->detail;
  // Stopped before the completion: nothing to wait for.
  EXPECT_TRUE(test::processes_with(sleep).empty());
  EXPECT_TRUE(test::cgroups_left_by(::getpid()).empty());
  // Reported after the child's exit, which is where the child's own story ends.
  EXPECT_NE(run.event(child_event_kind::exited, 0), nullptr);
}

TEST(Supervisor, WithoutACgroupTheChildStaysInOurs) {
  const recorded_run run =
      run_supervised({shell("worker", "grep ^0:: /proc/self/cgroup")}, run_options{});
  ASSERT_EQ(run.messages.size(), 1u);
  std::string ours;
  std::ifstream own("/proc/self/cgroup");
  for (std::string line; std::getline(own, line);)
    if (line.starts_with("0::")) ours = line;
  EXPECT_EQ(run.messages[0].bytes, ours);
}

// ---- Operating a run while it goes on (control.hpp): a service embedding the supervisor asks
// for status, restarts, stops and scales, and hears of each through the events the CLI logs.
// tests/process/control_test.cpp does the same through the CLI's control socket.

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
