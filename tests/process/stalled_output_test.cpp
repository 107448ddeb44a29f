// pipemux's own output stalls (a reader that does not read: `| less` on hold, a full FIFO): the
// children are not read meanwhile, nothing is lost, and signals still act at once.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <thread>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::none_left;
using test::pipemux_exe;
using test::run_command;

// A pipe for pipemux's stdout whose read end the test holds and reads only when it says so.
struct held_pipe {
  held_pipe() {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  }
  ~held_pipe() {
    close_read_end();
    if (fds[1] >= 0) ::close(fds[1]);
  }
  void close_read_end() {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
  }
  // Reads everything until EOF.
  std::string read_all() {
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    return text;
  }
  int fds[2] = {-1, -1};
};

// Signals pipemux at the given times after it started; then, if asked, closes the reader.
struct timeline {
  std::vector<std::pair<std::chrono::milliseconds, int>> signals;
  std::chrono::milliseconds reader_leaves_at{-1};
};

test::command_result run_with_stalled_output(const std::vector<std::string>& argv,
                                             const timeline& plan, held_pipe& out) {
  std::optional<std::chrono::steady_clock::time_point> started;
  std::size_t next = 0;
  test::command_options options{.timeout = 30s, .stdout_fd = out.fds[1]};
  options.watch = [&](int pid, const std::string&) {
    // The plan's times count from the moment pipemux runs children (its guard and the first
    // child exist), not from its exec: a loaded machine may take a second to get there, and a
    // signal before pipemux handles signals would simply kill it.
    if (!started) {
      if (test::children_of(pid).size() < 2) return false;
      started = std::chrono::steady_clock::now();
    }
    const auto now = std::chrono::steady_clock::now() - *started;
    while (next < plan.signals.size() && now >= plan.signals[next].first) {
      // Not while the one before is still pending: two SIGINTs pending at once are one, and
      // the plan would be a signal short.
      if (next > 0 && test::signal_pending(pid, plan.signals[next - 1].second)) break;
      ::kill(pid, plan.signals[next++].second);
    }
    if (plan.reader_leaves_at.count() >= 0 && now >= plan.reader_leaves_at) {
      out.close_read_end();
      return true;
    }
    return next == plan.signals.size() && plan.reader_leaves_at.count() < 0;
  };
  return run_command(argv, options);
}

TEST(StalledOutput, TwoSignalsThenTheReaderLeavesEndsPipemuxPromptly) {
  // `pipemux -n 2 -- seq 1 10000000 | sleep 3`, SIGINT twice 1.3 s apart (sooner, the second
  // would be a copy of the first).
  const std::string marker = test::unique("pipemux-test-stalled-leaves");
  for (int run = 0; run < 3; ++run) {
    held_pipe out;
    const auto started = std::chrono::steady_clock::now();
    const auto result = run_with_stalled_output(
        {pipemux_exe(), "-n", "2", "--", "sh", "-c", "exec seq 1 10000000", marker},
        {.signals = {{500ms, SIGINT}, {1800ms, SIGINT}}, .reader_leaves_at = 3000ms}, out);
    ASSERT_FALSE(result.timed_out) << "run " << run << ": pipemux hung";
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
    EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.err;
    EXPECT_TRUE(none_left(marker));
  }
}

TEST(StalledOutput, SignalsActWhileTheOutputIsStalledAndTheThirdGivesUp) {
  // Nobody ever reads: INT stops the children, INT again (later than a copy would come) kills
  // them, TERM (another signal: no copy) gives up on the log that cannot be written, says how
  // much, and exits, long before the 60 s grace would have let it.
  const std::string marker = test::unique("pipemux-test-stalled-third");
  held_pipe out;
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_with_stalled_output(
      {pipemux_exe(), "-n", "2", "--stop-grace", "60", "--", "sh", "-c",
       "trap '' TERM; exec seq 1 10000000", marker},
      {.signals = {{500ms, SIGINT}, {1800ms, SIGINT}, {2100ms, SIGTERM}}}, out);
  ASSERT_FALSE(result.timed_out) << "pipemux hung";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.err;
  EXPECT_TRUE(std::regex_search(result.err, std::regex("the output is stalled: \\d+ bytes")))
      << result.err;
  EXPECT_TRUE(none_left(marker));
}

TEST(StalledOutput, OneSignalEndsTheRunWithinTheGracePlusABoundedFlush) {
  // `docker stop` sends one SIGTERM and waits only so long: with the output stalled for good
  // (nobody reads it), chatty children and a grace of 1 s, the run ends by itself after the
  // grace and a bounded flush, says how much of the log it could not write, and exits 143.
  // (Reading stayed paused before, so the dead children's pipes were never drained and the
  // run never ended.)
  const std::string marker = test::unique("pipemux-test-stalled-one-signal");
  held_pipe out;
  const auto result = run_with_stalled_output(
      {pipemux_exe(), "-n", "2", "--stop-grace", "1", "--", "sh", "-c", "exec yes", marker},
      {.signals = {{500ms, SIGTERM}}}, out);
  ASSERT_FALSE(result.timed_out) << "pipemux waited for the stalled output";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(std::regex_search(
      result.err, std::regex("SIGTERM: the output is stalled: [1-9]\\d* bytes of the log were not "
                             "written")))
      << result.err;
  EXPECT_TRUE(none_left(marker));
}

TEST(StalledOutput, OneSignalEndsARunWhoseSyslogSocketIsNotRead) {
  // The same with the log going to a local syslog socket nobody reads: the sender's queue is
  // backlogged, reading is paused, one SIGTERM still ends the run, and the messages not sent
  // are counted.
  const std::string marker = test::unique("pipemux-test-stalled-syslog");
  const std::string socket_path = test::temp_path("unread-syslog.sock");
  ::unlink(socket_path.c_str());
  const int server = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  held_pipe out;
  std::thread stdout_reader([&] { out.read_all(); });
  const auto result =
      run_with_stalled_output({pipemux_exe(), "-n", "2", "--stop-grace", "1", "--syslog-to",
                               socket_path, "--", "sh", "-c", "exec yes", marker},
                              {.signals = {{500ms, SIGTERM}}}, out);
  ::close(out.fds[1]);
  out.fds[1] = -1;
  stdout_reader.join();
  ::close(server);
  ASSERT_FALSE(result.timed_out) << "pipemux waited for the syslog socket";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(std::regex_search(result.err,
                                std::regex("[1-9]\\d* log messages could not be sent to syslog")))
      << result.err;
  EXPECT_TRUE(none_left(marker));
}

TEST(StalledOutput, ChildrenWaitForAStalledReaderAndNothingIsLost) {
  // The reader takes nothing for a second, then everything: every line of both children is in
  // the log, in order, and the children were held back (not read) meanwhile.
  held_pipe out;
  std::string text;
  std::thread reader([&] {
    std::this_thread::sleep_for(1s);
    text = out.read_all();
  });
  const auto result = run_command({pipemux_exe(), "-n", "2", "--", "seq", "1", "300000"},
                                  {.timeout = 60s, .stdout_fd = out.fds[1]});
  ::close(out.fds[1]);
  out.fds[1] = -1;
  reader.join();
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::map<std::string, int> last;
  const std::regex line(R"(\S+ \S+ seq\.(\d)\[\d+\] out \| (\d+))");
  for (const auto& l : lines_of(text)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    const int n = std::stoi(m[2]);
    ASSERT_EQ(n, last[m[1]] + 1) << "child " << m[1];
    last[m[1]] = n;
  }
  EXPECT_EQ(last["0"], 300000);
  EXPECT_EQ(last["1"], 300000);
}

TEST(StalledOutput, ASlowReaderHearsEveryChildInTurn) {
  // Eight children that never stop writing short lines, and a slow reader: one 64 KiB read
  // of one child (some 9000 lines) fills pipemux's backlog, so reading pauses after about
  // every read. Each resumption starts after the child read last, so every child is heard in
  // turn (before, each started at child 0, and the last children were never read at all).
  constexpr int children = 8;
  constexpr std::size_t lines_taken = 300000;
  const auto result =
      run_command({pipemux_exe(), "-n", std::to_string(children), "--", pipemux_exe(), "spam",
                   "--count", "10000000", "--interval", "0"},
                  {.timeout = 60s,
                   .watch =
                       [scanned = std::size_t{0}, lines = std::size_t{0}](
                           int pid, const std::string& out) mutable {
                         lines += static_cast<std::size_t>(std::count(
                             out.begin() + static_cast<std::ptrdiff_t>(scanned), out.end(), '\n'));
                         scanned = out.size();
                         if (lines < lines_taken) return false;
                         ::kill(pid, SIGKILL);  // what follows is not looked at
                         return true;
                       },
                   .slow_read_bytes = 65536,
                   .slow_read_pause = 1ms});
  ASSERT_FALSE(result.timed_out);
  std::map<std::string, std::size_t> lines_of_child;
  const std::regex line(R"(\S+ \S+ pipemux\.(\d)\[\d+\] out \| Spam \d)");
  std::size_t seen = 0;
  for (const auto& l : lines_of(result.out)) {
    if (++seen > lines_taken) break;
    std::smatch m;
    if (std::regex_match(l, m, line)) ++lines_of_child[m[1]];
  }
  for (int i = 0; i < children; ++i)
    EXPECT_GT(lines_of_child[std::to_string(i)], lines_taken / children / 4)
        << "child " << i << " got less than a quarter of its share";
}

TEST(StalledOutput, ANonBlockingStdoutWaitsForALateReader) {
  // O_NONBLOCK on the output (set by whoever shares it): EAGAIN means wait, not fail.
  held_pipe out;
  ASSERT_EQ(::fcntl(out.fds[1], F_SETFL, O_NONBLOCK), 0);
  std::string text;
  std::thread reader([&] {
    std::this_thread::sleep_for(500ms);
    text = out.read_all();
  });
  const auto result = run_command({pipemux_exe(), "--", "seq", "1", "200000"},
                                  {.timeout = 60s, .stdout_fd = out.fds[1]});
  ::close(out.fds[1]);
  out.fds[1] = -1;
  reader.join();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto lines = lines_of(text);
  std::size_t numbers = 0;
  for (const auto& l : lines)
    if (l.find(" out | ") != std::string::npos)
      ASSERT_EQ(l.substr(l.rfind(' ') + 1), std::to_string(++numbers));
  EXPECT_EQ(numbers, 200000u);
}

TEST(StalledOutput, AClosedStdoutIsNoticedWhileTheChildIsQuiet) {
  // `| head -n 1` with a child that then stays silent for a long time: pipemux sees head go
  // away at once, not at the child's next line.
  const std::string marker = test::unique("pipemux-test-quiet-head");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command({"/bin/bash", "-c",
                                   "'" + pipemux_exe() + "' -- sh -c 'exec sleep 20' " + marker +
                                       " | head -n 1; echo \"status=${PIPESTATUS[0]}\""});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  const auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 2u) << result.out;
  EXPECT_EQ(lines.back(), "status=141");
  EXPECT_EQ(result.err, "");
  EXPECT_TRUE(none_left(marker));
}

TEST(StalledOutput, AFifoWhoseReaderLeavesIsAnErrorExitFour) {
  const std::string fifo = test::temp_path("pipemux_output.fifo");
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread reader([&] {  // takes a little, then goes away
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    char buf[100];
    [[maybe_unused]] const ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
  });
  const std::string marker = test::unique("pipemux-test-fifo-reader-leaves");
  const auto result = run_command(
      {pipemux_exe(), "-o", fifo, "--", "sh", "-c", "while :; do echo x; sleep 0.01; done", marker},
      {.timeout = 30s});
  reader.join();
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.err, "pipemux: error: cannot write the log to '" + fifo + "': Broken pipe\n");
  EXPECT_TRUE(none_left(marker));
  ::unlink(fifo.c_str());
}

TEST(StalledOutput, AFullDiskIsAnErrorAndTheFileEndsOnAWholeLine) {
  // A 16 KiB tmpfs in a private mount namespace fills mid-line: pipemux says so, exits 4, and
  // cuts the torn line off, so the file ends on a whole log line.
  const std::string dir = test::temp_path("full_disk");
  std::filesystem::create_directories(dir);
  const std::string script = "mount -t tmpfs -o size=16k tmpfs '" + dir + "' || exit 99; '" +
                             pipemux_exe() + "' -o '" + dir + "/log' -- seq 1 100000; echo $?; " +
                             "cat '" + dir + "/log' >&2";
  const auto result =
      run_command({"unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script});
  if (result.out == "99\n" || result.exit_code != 0) GTEST_SKIP() << "cannot mount here";
  EXPECT_EQ(result.out, "4\n");
  // stderr holds pipemux's error line, then the file.
  const auto error_end = result.err.find('\n');
  EXPECT_EQ(result.err.substr(0, error_end),
            "pipemux: error: cannot write the log to '" + dir + "/log': No space left on device");
  const std::string file = result.err.substr(error_end + 1);
  ASSERT_GT(file.size(), 8000u);
  EXPECT_EQ(file.back(), '\n') << "torn last line";
  const std::regex whole(R"(\S+ \S+ (seq\.0\[\d+\] out \| \d+|\S+ - \* .*))");
  for (const auto& line : lines_of(file)) ASSERT_TRUE(std::regex_match(line, whole)) << line;
}

TEST(StalledOutput, AFullDiskEndsARotatingFileOnAWholeLineToo) {
  // The same with a file rotated by size, whether the disk fills after a few rotations (6K
  // files) or in the middle of the first file (1M): every file holds whole log lines only
  // (spdlog's rotating sink left a torn one, 4 KiB of stdio buffer at a time).
  for (const std::string max_size : {"6K", "1M"}) {
    SCOPED_TRACE("max_size " + max_size);
    const std::string dir = test::temp_path("full_disk_rotating_" + max_size);
    std::filesystem::create_directories(dir);
    const std::string config = test::temp_path("full_disk_rotating_" + max_size + ".toml");
    std::ofstream(config) << "[[log.sink]]\npath = \"" << dir << "/run.log\"\nmax_size = \""
                          << max_size << "\"\nmax_files = 10\n";
    // Each file, then "== NAME", on stderr after pipemux's own line.
    const std::string script = fmt::format(
        "mount -t tmpfs -o size=16k tmpfs '{0}' || exit 99; '{1}' -c '{2}' -- seq 1 100000; "
        "echo $?; for f in '{0}'/*; do cat \"$f\" >&2; echo \"== $f\" >&2; done",
        dir, pipemux_exe(), config);
    const auto result =
        run_command({"unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script});
    if (result.out == "99\n" || result.exit_code != 0) GTEST_SKIP() << "cannot mount here";
    EXPECT_EQ(result.out, "4\n");
    const auto error_end = result.err.find('\n');
    EXPECT_EQ(result.err.substr(0, error_end), "pipemux: error: cannot write the log to '" + dir +
                                                   "/run.log': No space left on device");
    const std::regex whole(R"(\S+ \S+ (seq\.0\[\d+\] out \| \d+|\S+ - \* .*)|== .*)");
    std::size_t lines = 0;
    for (const auto& line : lines_of(result.err.substr(error_end + 1))) {
      ASSERT_TRUE(std::regex_match(line, whole)) << "torn: " << line;
      lines += !line.starts_with("== ");
    }
    EXPECT_GT(lines, 100u);
  }
}

TEST(StalledOutput, RotatingEveryLineThroughThousandsOfFilesNeverHoldsUpASignal) {
  // max_size = 1 with max_files = 65535: every line starts a new file, renaming every file
  // kept so far. That work is the writer's; the loop answers SIGTERM at once and the run ends
  // within the grace and the flush (before, renaming on the loop left SIGTERM unanswered for
  // over a minute).
  const std::string marker = test::unique("pipemux-test-rotate-every-line");
  const std::string dir = test::temp_path("rotate_every_line");
  std::filesystem::create_directories(dir);
  const std::string config = test::temp_path("rotate_every_line.toml");
  std::ofstream(config) << "[[log.sink]]\npath = \"" << dir << "/run.log\"\nmax_size = 1\n"
                        << "max_files = 65535\n";
  const auto files_made = [&dir] {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                                  std::filesystem::directory_iterator()));
  };
  const auto result =
      run_command({pipemux_exe(), "-c", config, "-n", "2", "--stop-grace", "1", "--", "sh", "-c",
                   "exec yes", marker},
                  {.timeout = 30s, .watch = [&](int pid, const std::string&) {
                     if (files_made() < 20)
                       return false;  // each rotation stats 65535 names: a few a second
                     ::kill(pid, SIGTERM);
                     return true;
                   }});
  ASSERT_FALSE(result.timed_out) << "SIGTERM was not answered";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(none_left(marker));
  // Every file holds whole lines: one each, a child's "y" or a report.
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string text = test::read_file(entry.path());
    if (text.empty()) continue;
    ASSERT_EQ(text.back(), '\n') << entry.path();
    if (++checked == 15) break;
  }
  EXPECT_EQ(checked, 15u);
}

TEST(StalledOutput, ATerminalThatHangsUpEndsTheRunWith129) {
  // pipemux writes to a real terminal (script(1)'s pty), which hangs up when script is killed:
  // its shell ignores SIGHUP, so pipemux only sees its output fail (EIO). That is a hangup:
  // children stopped, exit 129, not "cannot write the log" and 4.
  const std::string marker = test::unique("pipemux-test-hangup");
  const std::string status = test::temp_path("hangup.status");
  std::remove(status.c_str());
  const std::string command = "sh -c \"trap '' HUP; '" + pipemux_exe() +
                              "' -- sh -c 'while :; do echo tick; sleep 0.05; done' " + marker +
                              "; echo \\$? > '" + status + "'\"";  // \\$?: the inner sh's
  const auto result = run_command(
      {"script", "-qec", command, "/dev/null"},
      test::signal_when(
          SIGKILL,
          [](const std::string& out) { return out.find("out | tick") != std::string::npos; }, 30s));
  EXPECT_EQ(result.signal, SIGKILL);
  // The inner shell writes the status once pipemux is done: polled for, with room for a
  // loaded machine (pipemux stops its child, which may take up to its 5 s grace).
  std::string code;
  test::eventually([&] {
    std::ifstream(status) >> code;
    return !code.empty();
  });
  EXPECT_EQ(code, "129");
  EXPECT_TRUE(none_left(marker));
}

}  // namespace
}  // namespace pipemux
