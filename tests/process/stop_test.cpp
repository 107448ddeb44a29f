// Stops that end, and end as asked: Ctrl-C through a wrapper that forwards it, descendants that
// escaped and ignore the stop signal, a guard process that was stopped, a huge environment,
// a signal that comes while pipemux is exiting.
#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>
#include <atomic>
#include <csignal>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::none_left;
using test::pipemux_exe;
using test::run_command;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Runs `argv` as the foreground process group of a terminal would hold it (a group of its own),
// so that the test can send SIGINT to the whole group as a terminal's Ctrl-C does.
std::vector<std::string> in_own_process_group(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"python3", "-c",
                             "import os, sys\n"
                             "os.setpgid(0, 0)\n"
                             "os.execvp(sys.argv[1], sys.argv[1:])\n"});
  return argv;
}

// A wrapper as npm's run-script is one: it runs its command as a child in the same process
// group and forwards SIGINT and SIGTERM to it (a few milliseconds after the terminal's copy).
const char* const forwarding_wrapper =
    "import signal, subprocess, sys, time\n"
    "child = subprocess.Popen(sys.argv[1:])\n"
    "def forward(sig, frame):\n"
    "    time.sleep(0.005)\n"
    "    child.send_signal(sig)\n"
    "signal.signal(signal.SIGINT, forward)\n"
    "signal.signal(signal.SIGTERM, forward)\n"
    "sys.exit(child.wait() & 0xff)\n";

TEST(Stop, OneCtrlCForwardedByAWrapperIsOneRequestAndChildrenCleanUp) {
  // One Ctrl-C reaches pipemux twice: from the terminal (the group's SIGINT) and from the
  // wrapper's copy. Children that clean up on the stop signal must get their grace, not a
  // SIGKILL milliseconds later, and every line they write while cleaning up is logged.
  const std::string marker = test::unique("pipemux-stop-forwarded");
  const std::string child =
      "trap 'echo cleaning; sleep 0.3; echo cleaned; exit 0' INT TERM; echo ready; "
      "while :; do sleep 0.05; done";
  const std::vector<std::vector<std::string>> wrappers = {{"timeout", "--foreground", "60"},
                                                          {"python3", "-c", forwarding_wrapper}};
  for (const auto& wrapper : wrappers) {
    for (int run = 0; run < 3; ++run) {
      SCOPED_TRACE(wrapper.front() + " run " + std::to_string(run));
      std::vector<std::string> argv = wrapper;
      for (const std::string& arg :
           {pipemux_exe(), std::string("-n"), std::string("2"), std::string("--stop-signal"),
            std::string("SIGINT"), std::string("--stop-grace"), std::string("20"),
            std::string("--"), std::string("sh"), std::string("-c"), child, marker})
        argv.push_back(arg);
      const auto result =
          run_command(in_own_process_group(argv),
                      {.timeout = 30s, .watch = [](int pid, const std::string& out) {
                         if (count_of(out, "out | ready") < 2) return false;
                         ::kill(-pid, SIGINT);  // the terminal's Ctrl-C
                         return true;
                       }});
      ASSERT_FALSE(result.timed_out);
      EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.out << result.err;
      EXPECT_EQ(count_of(result.out, "out | cleaned\n"), 2u) << result.out;
      EXPECT_EQ(count_of(result.out, "* exited with code 0 after"), 2u) << result.out;
      EXPECT_EQ(count_of(result.out, "received SIGINT: stopping the children"), 1u) << result.out;
      EXPECT_FALSE(contains(result.out, "killing the children")) << result.out;
      EXPECT_FALSE(contains(result.out, "SIGKILL")) << result.out;
      EXPECT_EQ(count_of(result.out, "* summary: "), 2u) << result.out;
      EXPECT_FALSE(contains(result.err, "stalled")) << result.err;
      EXPECT_TRUE(none_left(marker));
    }
  }
}

TEST(Stop, ACopiedSignalAsFastChildrenEndDropsNoReportAndClaimsNoStall) {
  // Children that end on their own as the Ctrl-C (and its copy) arrives: the copy once all is
  // logged was taken as "give up on the output": a false "output is stalled: 660 bytes", and
  // exit and summary lines missing. Nothing pipemux was asked to log may be dropped.
  for (int run = 0; run < 10; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    std::vector<std::string> argv = {
        "python3", "-c", forwarding_wrapper, pipemux_exe(), "-n", "3", "--", "seq", "1", "3000"};
    // A reader a little slower than pipemux: some log is still queued when the run is over.
    const auto result =
        run_command(in_own_process_group(argv), {.timeout = 30s,
                                                 .watch =
                                                     [](int pid, const std::string& out) {
                                                       if (!contains(out, "out | 1\n"))
                                                         return false;
                                                       ::kill(-pid, SIGINT);
                                                       return true;
                                                     },
                                                 .slow_read_bytes = 4096,
                                                 .slow_read_pause = 1ms});
    ASSERT_FALSE(result.timed_out);
    EXPECT_FALSE(contains(result.err, "stalled")) << result.err;
    std::string reports;  // pipemux's own lines, for the message
    for (const auto& line : lines_of(result.out))
      if (contains(line, " * ")) reports += line + "\n";
    EXPECT_EQ(count_of(reports, "* summary: "), 3u) << reports;
    const std::size_t ended =
        count_of(reports, "* exited with code 0") + count_of(reports, "* killed by SIGTERM");
    EXPECT_EQ(ended, 3u) << reports;
  }
}

TEST(Stop, ASecondSignalOfAnotherKindKillsAtOnce) {
  // A copy is the same signal within a moment; SIGTERM after SIGINT is a second request.
  const std::string marker = test::unique("pipemux-stop-other-signal");
  bool sent_second = false;
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_command({pipemux_exe(), "--stop-grace", "60", "--", "sh", "-c",
                   "trap '' TERM INT; echo ready; while :; do sleep 0.05; done", marker},
                  {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
                     if (!contains(out, "out | ready")) return false;
                     if (!contains(out, "received SIGINT: stopping")) {
                       ::kill(pid, SIGINT);
                       return false;
                     }
                     ::kill(pid, SIGTERM);
                     sent_second = true;
                     return true;
                   }});
  ASSERT_TRUE(sent_second);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s) << "waited for the 60 s grace";
  EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.err;
  EXPECT_TRUE(contains(result.out, "received SIGTERM after SIGINT: killing the children"))
      << result.out;
  // Killed because it was asked again, long before its 60 s grace was over: the log says so.
  EXPECT_TRUE(contains(result.out,
                       "* asked to stop a second time before its grace was over: "
                       "sent SIGKILL"))
      << result.out;
  EXPECT_FALSE(contains(result.out, "after the grace period")) << result.out;
  EXPECT_TRUE(contains(result.out, "killed by SIGKILL")) << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Stop, AnEscapedDescendantIgnoringTheStopSignalEndsTheRunWithoutACgroup) {
  // `setsid -f`: the child exits at once, leaving a session of its own whose shell ignores
  // SIGTERM, and whose sleep (SIGTERM ignored too, inherited) is re-parented to pipemux only
  // when that shell is killed. Both are stopped, then killed; the run ends by itself.
  const std::string sleep = test::long_sleep();
  const auto result = run_command({pipemux_exe(), "--cgroup", "off", "--stop-grace", "1",
                                   "setsid -f sh -c 'trap \"\" TERM; " + sleep + "; echo never'"},
                                  {.timeout = 30s});
  ASSERT_FALSE(result.timed_out) << "waited for a TERM-ignoring descendant for ever";
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::regex_search(
      result.out, std::regex(R"(\* escaped descendants still running: sh\[\d+\], sleep\[\d+\]: )"
                             R"(sent SIGTERM)")))
      << result.out;
  EXPECT_TRUE(std::regex_search(
      result.out, std::regex(R"(\* sh\[\d+\], sleep\[\d+\] still running: sent SIGKILL)")))
      << result.out;
  EXPECT_TRUE(none_left(sleep));
}

TEST(Stop, EscapedDescendantsGetTheStopSignalWithTheChildren) {
  // On SIGTERM, a descendant in a session of its own is sent SIGTERM at once, with the child
  // (before, only once the run was over, a whole grace later): here it exits on it, and the
  // run ends long before the 20 s grace.
  const std::string sleep = test::long_sleep();
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command(
      {pipemux_exe(), "--cgroup", "off", "--stop-grace", "20", "--", "sh", "-c",
       "setsid " + sleep + " & trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"},
      test::signal_when(SIGTERM, [&sleep](const std::string& out) {
        // Once the sleep runs in its session (setsid has exec'd it).
        return contains(out, "| ready") && !test::processes_running(sleep).empty();
      }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "the escaped sleep got its grace";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  const auto stopping = result.out.find("* escaped descendants still running: sleep[");
  const auto exited = result.out.find("* exited with code 0");
  EXPECT_NE(stopping, std::string::npos) << result.out;
  EXPECT_LT(stopping, exited) << "stopped with the children, not after them: " << result.out;
  EXPECT_FALSE(contains(result.out, "SIGKILL")) << result.out;
  EXPECT_TRUE(none_left(sleep));
}

TEST(Stop, AStoppedGuardProcessDoesNotHangTheEndOfTheRun) {
  // Someone sends SIGSTOP to pipemux-guard: the end of the run waits for it a moment, then
  // kills it, instead of waiting in waitpid for ever.
  const std::string marker = test::unique("pipemux-stop-guard");
  bool stopped_guard = false;
  const auto result = run_command(
      {pipemux_exe(), "--", "sh", "-c", "echo ready; sleep 0.5; echo done", marker},
      {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
         if (!contains(out, "out | ready")) return false;
         for (int child : test::children_of(pid))
           if (test::read_file("/proc/" + std::to_string(child) + "/comm") == "pipemux-guard\n") {
             ::kill(child, SIGSTOP);
             stopped_guard = true;
           }
         return true;
       }});
  ASSERT_TRUE(stopped_guard);
  ASSERT_FALSE(result.timed_out) << "waited for the stopped guard for ever";
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "out | done\n")) << result.out;
  EXPECT_TRUE(contains(result.out, "* summary: ")) << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Stop, AHundredThousandEnvironmentVariablesStartEveryChildAndAStopIsHeard) {
  // Building each child's environment was quadratic: with 100,000 variables no child had
  // started after a minute. Now every child starts, sees the last variable and its own
  // index, and a SIGTERM sent as the first one speaks is answered, with no child started
  // after it.
  const std::string env_file = test::temp_path("many.env");
  {
    std::ofstream out(env_file);
    for (int i = 0; i < 99999; ++i) out << "V" << i << "=x\n";  // 0.9 MB: a .env is 1 MiB at most
    out << "V99999=last\n";
  }
  const auto all = run_command({pipemux_exe(), "-e", env_file, "-n", "20", "--", "printenv",
                                "V99999", "PIPEMUX_CHILD_INDEX"},
                               {.timeout = 120s});
  ASSERT_FALSE(all.timed_out);
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(count_of(all.out, "out | last\n"), 20u) << all.out.substr(0, 2000);
  for (int i = 0; i < 20; ++i)  // each its own index
    EXPECT_TRUE(
        std::regex_search(all.out, std::regex("printenv\\." + std::to_string(i) +
                                              R"( *\[\d+\] out \| )" + std::to_string(i) + "\n")))
        << i;

  const auto stopped = run_command(
      {pipemux_exe(), "-e", env_file, "-n", "200", "--", "sleep", "30"},
      test::signal_when(
          SIGTERM, [](const std::string& out) { return contains(out, "* started: "); }, 120s));
  ASSERT_FALSE(stopped.timed_out);
  EXPECT_EQ(stopped.exit_code, 128 + SIGTERM) << stopped.err;
  const auto received = stopped.out.find("received SIGTERM");
  ASSERT_NE(received, std::string::npos) << stopped.out.substr(0, 2000);
  EXPECT_FALSE(contains(stopped.out.substr(received), "* started: "))
      << "a child started after the stop";
}

TEST(Stop, ASignalWhilePipemuxExitsNeverKillsItByTheSignal) {
  // SIGINTs keep coming while the run ends on its own: each is taken (or held) by pipemux, which
  // exits with its code; before, one in about sixty ended it by SIGINT's default action once
  // its signal handling was torn down.
  for (int run = 0; run < 40; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    std::atomic<bool> done{false};
    std::atomic<int> target{-1};  // a pidfd: never a recycled pid once pipemux is reaped
    std::thread pelter([&] {
      while (!done) {
        if (const int pidfd = target.load(); pidfd >= 0)
          ::syscall(SYS_pidfd_send_signal, pidfd, SIGINT, nullptr, 0);
        std::this_thread::sleep_for(200us);
      }
    });
    const auto result = run_command({pipemux_exe(), "--", "sh", "-c", "echo hi; sleep 0.05"},
                                    {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
                                       if (!contains(out, "out | hi")) return false;
                                       target = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
                                       return true;
                                     }});
    done = true;
    pelter.join();
    if (target >= 0) ::close(target);
    EXPECT_EQ(result.signal, 0) << "killed by signal " << result.signal;
    EXPECT_TRUE(result.exit_code == 0 || result.exit_code == 128 + SIGINT) << result.exit_code;
  }
}

}  // namespace
}  // namespace pipemux
