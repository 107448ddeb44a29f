// Child lifecycle and faults, end to end: a real pipemux process, real children, real signals.
#include <gtest/gtest.h>

#include <dirent.h>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::none_left;
using test::pipemux_exe;
using test::processes_with;
using test::run_command;
using test::signal_when;

// A parsed log line: "<date> <time> <label>[<pid>] <stream> <mark> <text>".
struct log_entry {
  std::string label, stream, text;
  int pid = 0;
  char mark = 0;
};

std::optional<log_entry> parse(const std::string& line) {
  // Fixed-width time: "2026-11-29 14:31:02.123456 " is 27 characters.
  if (line.size() < 27) return std::nullopt;
  const auto open = line.find('[', 27);
  const auto close = line.find("] ", open);
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  log_entry e;
  e.label = line.substr(27, open - 27);
  e.pid = std::atoi(line.c_str() + open + 1);
  const auto stream_end = line.find(' ', close + 2);
  if (stream_end == std::string::npos || stream_end + 2 >= line.size()) return std::nullopt;
  e.stream = line.substr(close + 2, stream_end - close - 2);
  e.mark = line[stream_end + 1];
  e.text = line.size() > stream_end + 3 ? line.substr(stream_end + 3) : "";
  return e;
}

std::vector<log_entry> parse_log(const std::string& out) {
  std::vector<log_entry> entries;
  for (const auto& line : lines_of(out)) {
    auto e = parse(line);
    EXPECT_TRUE(e) << "not a log line: " << line;
    if (e) entries.push_back(*e);
  }
  return entries;
}

// pipemux's own reports ('*' lines) that contain `text`.
std::size_t count_containing(const std::vector<log_entry>& log, const std::string& text) {
  std::size_t n = 0;
  for (const auto& e : log) n += e.mark == '*' && e.text.find(text) != std::string::npos;
  return n;
}

// Whole lines of child output equal to `text`.
std::size_t count_output(const std::vector<log_entry>& log, const std::string& text,
                         const std::string& stream = "out") {
  std::size_t n = 0;
  for (const auto& e : log) n += e.mark == '|' && e.stream == stream && e.text == text;
  return n;
}

bool said(const std::string& out, const std::string& line) {
  return out.find("| " + line + "\n") != std::string::npos;
}

std::function<bool(const std::string&)> lines_at_least(std::size_t n) {
  return [n](const std::string& out) {
    return static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) >= n;
  };
}

TEST(Lifecycle, SigtermWhileEightChildrenWriteLosesNoMessageWrittenBeforeTheStop) {
  // Each spam child records how many messages it had fully written when SIGTERM arrived.
  const std::string record = test::temp_path("pipemux_lifecycle_record_");
  constexpr int children = 8;
  const auto result =
      run_command({pipemux_exe(), "-n", std::to_string(children), "--", pipemux_exe(), "spam",
                   "--count", "100000", "--interval", "0", "--sequence", "--record", record},
                  signal_when(SIGTERM, [](const std::string& out) {
                    // Mid-run, and only once every child has logged two lines, so that it
                    // has counted one as written (a loaded machine may start one late).
                    if (!lines_at_least(100000)(out)) return false;
                    for (int i = 0; i < children; ++i) {
                      const std::string label = " pipemux." + std::to_string(i) + "[";
                      int lines = 0;
                      for (auto at = out.find(label); at != std::string::npos && lines < 2;
                           at = out.find(label, at + 1))
                        lines += out.compare(out.find("] ", at) + 2, 6, "out | ") == 0;
                      if (lines < 2) return false;
                    }
                    return true;
                  }));
  ASSERT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  std::map<std::string, std::uint64_t> next_seq;
  for (const auto& e : parse_log(result.out)) {
    if (e.mark != '|') continue;
    ASSERT_EQ(e.stream, "out");
    const auto seq_at = e.text.rfind("seq=");
    ASSERT_NE(seq_at, std::string::npos) << e.text;
    auto& next = next_seq[e.label];
    ASSERT_EQ(std::stoull(e.text.substr(seq_at + 4)), next)
        << e.label << ": lost, repeated or reordered";
    ++next;
  }
  ASSERT_EQ(next_seq.size(), static_cast<std::size_t>(children));
  for (int i = 0; i < children; ++i) {
    std::uint64_t written = 0;
    std::ifstream(record + std::to_string(i)) >> written;
    const std::uint64_t logged = next_seq["pipemux." + std::to_string(i)];
    // A message whose write() returned just before the signal is logged but not yet counted.
    EXPECT_GE(logged, written) << "child " << i << " wrote more than was logged";
    EXPECT_LE(logged, written + 1) << "child " << i;
    EXPECT_GT(written, 0u);
  }
}

TEST(Lifecycle, ChildIgnoringSigtermIsKilledAfterTheGracePeriodAndTheLogSaysSo) {
  const std::string marker = test::unique("pipemux-lifecycle-stubborn");
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_command({pipemux_exe(), "--stop-grace", "0.3", "--", "sh", "-c",
                   "trap '' TERM; echo ready; while :; do sleep 0.05; done", marker},
                  signal_when(SIGTERM, [](const std::string& out) { return said(out, "ready"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 128 + SIGTERM);
  const auto log = parse_log(result.out);
  EXPECT_EQ(count_containing(log, "still running after the grace period: sent SIGKILL"), 1u)
      << result.out;
  EXPECT_EQ(count_containing(log, "killed by SIGKILL after"), 1u) << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Lifecycle, SecondSigintSkipsTheGracePeriod) {
  const std::string marker = test::unique("pipemux-lifecycle-second-sigint");
  bool sent_second = false;
  std::optional<std::chrono::steady_clock::time_point> first_sent;
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_command({pipemux_exe(), "--stop-grace", "60", "--", "sh", "-c",
                   "trap '' TERM INT; echo ready; while :; do sleep 0.05; done", marker},
                  {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
                     if (!said(out, "ready")) return false;
                     // The second SIGINT only once the log says the first was taken (sent
                     // again while that line is on its way, it would be the second, and the
                     // next one a third, which gives up on the output), and a second later:
                     // the same signal sooner is taken as a copy of the first (a wrapper
                     // forwarding it), where a second Ctrl-C by hand comes later.
                     if (!first_sent) {
                       ::kill(pid, SIGINT);
                       first_sent = std::chrono::steady_clock::now();
                       return false;
                     }
                     if (out.find("received SIGINT: stopping") == std::string::npos ||
                         std::chrono::steady_clock::now() - *first_sent < 1200ms)
                       return false;
                     ::kill(pid, SIGINT);
                     sent_second = true;
                     return true;
                   }});
  EXPECT_TRUE(sent_second);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s) << "waited for the 60 s grace";
  EXPECT_EQ(result.exit_code, 128 + SIGINT);
  EXPECT_NE(result.out.find("received SIGINT again: killing the children"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("killed by SIGKILL"), std::string::npos) << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Lifecycle, AChildThatLeftItsProcessGroupIsStillStopped) {
  // It joins pipemux's own group: a stop sent to its old (now empty) group reaches nobody.
  const std::string marker = test::unique("pipemux-lifecycle-left-group");
  const std::string script =
      "import os, sys, time\n"
      "os.setpgid(0, os.getpgid(os.getppid()))\n"
      "print('moved', flush=True)\n"
      "time.sleep(300)\n";
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_command({pipemux_exe(), "--stop-grace", "10", "--", "python3", "-c", script, marker},
                  signal_when(SIGTERM, [](const std::string& out) { return said(out, "moved"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s) << "it waited for the grace";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_EQ(count_containing(parse_log(result.out), "killed by SIGTERM after"), 1u) << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Lifecycle, AStoppedChildIsReportedAndAStopReachesItAtOnce) {
  // It stops itself as a terminal's SIGTTIN would: the log says so, and SIGTERM is followed by
  // SIGCONT, so the stop does not wait for the whole grace period.
  const std::string marker = test::unique("pipemux-lifecycle-stopped");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command({pipemux_exe(), "--stop-grace", "10", "--", "sh", "-c",
                                   "echo stopping; kill -STOP $$; echo on", marker},
                                  signal_when(SIGTERM, [](const std::string& out) {
                                    return out.find("* stopped: SIGSTOP") != std::string::npos;
                                  }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s) << "it waited for the grace";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  const auto log = parse_log(result.out);
  EXPECT_EQ(count_containing(log, "stopped: SIGSTOP"), 1u) << result.out;
  EXPECT_EQ(count_containing(log, "killed by SIGTERM after"), 1u) << result.out;
  EXPECT_EQ(count_output(log, "on"), 0u) << "SIGTERM comes before it runs on";
  EXPECT_TRUE(none_left(marker));
}

TEST(Lifecycle, UnderATerminalAChildReadingTheTerminalIsReportedAndStoppedAtOnce) {
  // A real terminal (script(1) gives pipemux a pty): the child is in a background group of its
  // own, so reading /dev/tty stops it with SIGTTIN. Ctrl-C (SIGINT to pipemux) must end it
  // without waiting the 10 s grace.
  const std::string marker = test::unique("pipemux-lifecycle-ttin");
  const std::string command = "'" + pipemux_exe() +
                              "' --stop-grace 10 -- sh -c 'echo asking; read x < /dev/tty; "
                              "echo got' " +
                              marker;
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_command({"script", "-qec", command, "/dev/null"},
                  {.timeout = 30s, .watch = [&](int, const std::string& out) {
                     if (out.find("stopped: SIGTTIN") == std::string::npos) return false;
                     for (int pid : processes_with(marker)) {
                       std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
                       std::string argv0;
                       std::getline(cmdline, argv0, '\0');
                       if (argv0 == pipemux_exe()) ::kill(pid, SIGINT);
                     }
                     return true;
                   }});
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s) << "it waited for the grace";
  EXPECT_NE(result.out.find("stopped: SIGTTIN (it read from a terminal where it runs in the "
                            "background)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("killed by SIGTERM after"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("| got"), std::string::npos) << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Lifecycle, AChildStoppedAndContinuedIsReportedBoth) {
  // pipemux looks for stopped and continued children once a second: the child runs on until
  // the continuation is in the log (a fixed pause could end before a loaded machine's look).
  const std::string reported = test::temp_path("pipemux_lifecycle_go_on");
  std::remove(reported.c_str());
  bool continued = false;
  const auto result = run_command(
      {pipemux_exe(), "--", "sh", "-c",
       "kill -STOP $$; while [ ! -e " + reported + " ]; do sleep 0.01; done; echo after"},
      {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
         if (out.find("* stopped: SIGSTOP") == std::string::npos) return false;
         if (!continued) {
           for (int child : test::children_of(pid))
             ::kill(child, SIGCONT);  // (the guard too: harmless)
           continued = true;
         }
         if (out.find("* continued") == std::string::npos) return false;
         std::ofstream(reported).put('\n');
         return true;
       }});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto log = parse_log(result.out);
  EXPECT_EQ(count_containing(log, "stopped: SIGSTOP"), 1u) << result.out;
  EXPECT_EQ(count_containing(log, "continued"), 1u) << result.out;
  EXPECT_EQ(count_output(log, "after"), 1u) << result.out;
}

TEST(Lifecycle, BackgroundGrandchildHoldingThePipeDoesNotHangPipemux) {
  const std::string marker = test::unique("pipemux-lifecycle-grandchild");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command({pipemux_exe(), "--stop-grace", "0.5", "--", "sh", "-c",
                                   test::long_sleep() + " & echo hi", marker});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 0.5s + 2s) << "grace period + a small margin";
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto log = parse_log(result.out);
  EXPECT_EQ(count_containing(log, "after the child exited (another process holds it open): closed"),
            1u)
      << result.out;
  EXPECT_TRUE(none_left(marker));
}

TEST(Lifecycle, NoChildOrGrandchildSurvivesPipemuxKilledWithSigkill) {
  const std::string marker = test::unique("pipemux-lifecycle-sigkill");
  std::size_t alive_before = 0;
  const auto result =
      run_command({pipemux_exe(), "-n", "3", "--", "sh", "-c",
                   test::long_sleep() + " & " + test::long_sleep() + " & echo up; wait", marker},
                  {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
                     std::size_t ups = 0;
                     for (auto at = out.find("| up\n"); at != std::string::npos;
                          at = out.find("| up\n", at + 1))
                       ++ups;
                     if (ups < 3) return false;
                     alive_before = processes_with(marker).size();
                     ::kill(pid, SIGKILL);
                     return true;
                   }});
  EXPECT_EQ(result.signal, SIGKILL);
  // pipemux and the 3 children carry the marker (a sleep does once it has exec'd; the guard is
  // a program of its own).
  EXPECT_GE(alive_before, 4u);
  EXPECT_TRUE(none_left(marker)) << "left: " << processes_with(marker).size();
  EXPECT_TRUE(none_left(test::long_sleep())) << "a grandchild survived";
}

TEST(Lifecycle, AZeroRestartDelayStillBacksOff) {
  // restart_delay = 0 used to restart a failing child as fast as fork allows (2,000 in 16 s).
  const std::string config = test::temp_path("pipemux_restart_zero.toml");
  std::ofstream(config) << "restart = \"always\"\nrestart_delay = 0\nmax_restarts = 100000\n";
  // The 1.5 s count from the first start, not from pipemux's exec: a loaded machine may take
  // a good part of a second to get there.
  std::optional<std::chrono::steady_clock::time_point> first_start;
  const auto result = run_command({pipemux_exe(), "-c", config, "--", "true"},
                                  {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
                                     if (!first_start) {
                                       if (out.find("started: true") == std::string::npos)
                                         return false;
                                       first_start = std::chrono::steady_clock::now();
                                     }
                                     if (std::chrono::steady_clock::now() - *first_start < 1500ms)
                                       return false;
                                     ::kill(pid, SIGTERM);
                                     return true;
                                   }});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  const auto log = parse_log(result.out);
  const auto starts = count_containing(log, "started: true");
  EXPECT_GE(starts, 3u) << result.out;
  EXPECT_LE(starts, 12u) << "10, 20, 40 ... ms apart: about 8 in 1.5 s";
}

TEST(Lifecycle, ARestartMaxDelayOfZeroKeepsTheFloor) {
  // restart_max_delay = 0 capped every delay at 0: thousands of restarts a second. The 10 ms
  // floor holds for the cap too: about 150 in 1.5 s.
  const std::string config = test::temp_path("pipemux_restart_max_zero.toml");
  std::ofstream(config) << "restart = \"always\"\nrestart_delay = 0\nrestart_max_delay = 0\n"
                        << "max_restarts = 100000\n";
  const auto result = run_command(
      {pipemux_exe(), "-c", config, "--", "true"},
      {.timeout = 30s,
       .watch = [started = std::chrono::steady_clock::now()](int pid, const std::string&) {
         if (std::chrono::steady_clock::now() - started < 1500ms) return false;
         ::kill(pid, SIGTERM);
         return true;
       }});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  const auto starts = count_containing(parse_log(result.out), "started: true");
  EXPECT_GE(starts, 3u) << result.out;
  EXPECT_LE(starts, 200u) << "10 ms apart at least";
}

TEST(Lifecycle, ARestartCancelledByAStopIsNotCounted) {
  const std::string config = test::temp_path("pipemux_restart_cancelled.toml");
  std::ofstream(config) << "restart = \"on-failure\"\nrestart_delay = 20\n";
  const auto result = run_command(
      {pipemux_exe(), "-c", config, "--", "sh", "-c", "exit 3"},
      signal_when(SIGTERM, [](const std::string& out) {
        return out.find("restarting: it exited with code 3; attempt 1") != std::string::npos;
      }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_NE(result.out.find("summary: 0 messages, 0 bytes, exited with code 3, 0 restarts"),
            std::string::npos)
      << result.out;
}

TEST(Lifecycle, RestartOnFailureBacksOffAndGivesUpAfterTheMaximum) {
  const std::string config = test::temp_path("pipemux_restart.toml");
  std::ofstream(config)
      << "restart = \"on-failure\"\nrestart_delay = 0.05\nrestart_max_delay = 0.15\n"
         "max_restarts = 4\n";
  const auto result =
      run_command({pipemux_exe(), "-c", config, "--", "sh", "-c", "echo try; exit 2"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const auto log = parse_log(result.out);
  std::vector<double> delays;
  std::vector<int> pids;
  for (const auto& e : log) {
    if (e.text.rfind("started:", 0) == 0) pids.push_back(e.pid);
    if (e.text.rfind("restarting: it exited with code 2; attempt ", 0) == 0) {
      const auto in = e.text.rfind(" in ");
      delays.push_back(std::stod(e.text.substr(in + 4)));
      EXPECT_NE(e.text.find("attempt " + std::to_string(delays.size()) + " of 4"),
                std::string::npos)
          << e.text;
    }
  }
  EXPECT_EQ(pids.size(), 5u) << "the first run and 4 restarts";
  ASSERT_EQ(delays.size(), 4u) << result.out;
  EXPECT_LT(delays[0], delays[1]);
  EXPECT_LT(delays[1], delays[2]);
  EXPECT_EQ(delays[2], delays[3]) << "capped at restart_max_delay";
  EXPECT_EQ(count_output(log, "try"), 5u);
  EXPECT_NE(result.out.find("summary: 5 messages"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("4 restarts"), std::string::npos) << result.out;
}

struct stop_on_case {
  std::string stop_on;
  std::string ending_script;  // the child that ends first
  int expected_exit;
  bool others_stopped;
  friend void PrintTo(const stop_on_case& c, std::ostream* os) {
    *os << c.stop_on << ": " << c.ending_script;
  }
};

class StopOn : public ::testing::TestWithParam<stop_on_case> {};

TEST_P(StopOn, EndsTheRunAsConfiguredWithItsExitCode) {
  const auto& c = GetParam();
  // Unique per case: ctest runs the cases in parallel processes.
  const std::string id =
      c.stop_on + "-" + std::to_string(c.expected_exit) + "-" + std::to_string(c.others_stopped);
  const std::string marker = test::unique("pipemux-lifecycle-stop-on-" + id);
  const std::string config = test::temp_path("pipemux_stop_on_") + id + ".toml";
  // No timing: "short" ends once "long" runs, and "long" says "done" only when the test lets
  // it, once the log showed short's end and the run going on (a policy that stops the others
  // stops it before). A fixed race, "sleep 2" against "sleep 0.2", could be lost under load.
  const std::string long_up = test::temp_path("pipemux_stop_on_up_") + id;
  const std::string go_on = test::temp_path("pipemux_stop_on_go_") + id;
  std::remove(long_up.c_str());
  std::remove(go_on.c_str());
  std::ofstream(config)
      << "stop_on = \"" << c.stop_on << "\"\n"
      << "[[program]]\nname = \"long\"\ncommand = [\"sh\", \"-c\", \": > " << long_up
      << "; while [ ! -e " << go_on << " ]; do sleep 0.01; done; echo done\", \"" << marker
      << "\"]\n"
      << "[[program]]\nname = \"short\"\ncommand = [\"sh\", \"-c\", \"while [ ! -e " << long_up
      << " ]; do sleep 0.01; done; " << c.ending_script << "\"]\n";
  const auto started = std::chrono::steady_clock::now();
  const auto short_ended = [](const std::string& out) {
    for (const auto& line : lines_of(out))
      if (line.find(" short.0") != std::string::npos &&
          line.find("* exited with code") != std::string::npos)
        return true;
    return false;
  };
  const auto result = run_command({pipemux_exe(), "-c", config},
                                  {.timeout = 60s, .watch = [&](int, const std::string& out) {
                                     if (c.others_stopped)
                                       return true;  // then only a stop ends "long"
                                     if (!short_ended(out)) return false;
                                     std::ofstream(go_on).put('\n');
                                     return true;
                                   }});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(result.timed_out) << result.out;
  EXPECT_EQ(result.exit_code, c.expected_exit) << result.out << result.err;
  const auto log = parse_log(result.out);
  if (c.others_stopped) {
    EXPECT_LT(took, 1.9s);
    EXPECT_EQ(count_containing(log, "stopping the other children"), 1u) << result.out;
    EXPECT_EQ(count_containing(log, "killed by SIGTERM after"), 1u) << result.out;
    EXPECT_EQ(count_output(log, "done"), 0u);
  } else {
    EXPECT_EQ(count_output(log, "done"), 1u) << result.out;
    EXPECT_EQ(count_containing(log, "stopping the other children"), 0u);
  }
  EXPECT_TRUE(none_left(marker));
}

INSTANTIATE_TEST_SUITE_P(
    EachPolicy, StopOn,
    ::testing::Values(stop_on_case{"never", "exit 3", 1, false},
                      stop_on_case{"failure", "exit 3", 1, true},
                      stop_on_case{"failure", "exit 0", 0, false},
                      stop_on_case{"exit", "exit 0", 0, true},
                      stop_on_case{"exit", "exit 4", 1, true}),
    [](const ::testing::TestParamInfo<stop_on_case>& info) {  // readable ctest names
      return info.param.stop_on + "_" + std::to_string(info.index);
    });

TEST(Lifecycle, StderrIsCapturedAndTaggedMergedOrInherited) {
  const std::vector<std::string> child = {"--", "sh", "-c", "echo to-out; echo to-err >&2"};
  auto run = [&](const std::string& mode) {
    std::vector<std::string> argv = {pipemux_exe(), "--stderr", mode};
    argv.insert(argv.end(), child.begin(), child.end());
    return run_command(argv);
  };
  const auto captured = run("capture");
  EXPECT_NE(captured.out.find("] out | to-out\n"), std::string::npos) << captured.out;
  EXPECT_NE(captured.out.find("] err | to-err\n"), std::string::npos) << captured.out;
  EXPECT_EQ(captured.err, "");
  const auto merged = run("merge");
  EXPECT_NE(merged.out.find("] out | to-err\n"), std::string::npos) << merged.out;
  EXPECT_EQ(merged.err, "");
  const auto inherited = run("inherit");
  EXPECT_EQ(inherited.out.find("| to-err"), std::string::npos);
  EXPECT_EQ(inherited.err, "to-err\n");
}

TEST(Lifecycle, PythonIsToldNotToBufferUnlessTheUserSaidOtherwise) {
  // `env -u`: the environment the tests run in may set it already.
  const auto result = run_command({"env", "-u", "PYTHONUNBUFFERED", pipemux_exe(), "--", "sh", "-c",
                                   "echo \"[$PYTHONUNBUFFERED]\""});
  EXPECT_NE(result.out.find("| [1]"), std::string::npos) << result.out;
  const std::string config = test::temp_path("pipemux_unbuffered.toml");
  std::ofstream(config) << "unbuffered_env = false\n";
  const auto off = run_command({"env", "-u", "PYTHONUNBUFFERED", pipemux_exe(), "-c", config, "--",
                                "sh", "-c", "echo \"[$PYTHONUNBUFFERED]\""});
  EXPECT_NE(off.out.find("| []"), std::string::npos) << off.out;
}

TEST(Lifecycle, EveryChildGetsASummaryLine) {
  const auto result =
      run_command({pipemux_exe(), "-n", "2", "--", "sh", "-c", "echo one; echo two"});
  const auto log = parse_log(result.out);
  EXPECT_EQ(count_containing(log, "summary: 2 messages, 8 bytes, exited with code 0, 0 restarts"),
            2u)
      << result.out;
}

}  // namespace
}  // namespace pipemux
