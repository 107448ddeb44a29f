// A child's output is read to the end after it exits, however slowly the log is taken: only a
// pipe that stays silent for a whole grace period (held open by another process) is abandoned.
#include <gtest/gtest.h>

#include <regex>

#include "log_line.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::pipemux_exe;
using test::run_command;

// The text of every whole line a child logged, in order, and whether pipemux abandoned a pipe.
struct logged_output {
  std::vector<std::string> lines;
  bool abandoned = false;
};

logged_output parse(const std::string& out) {
  logged_output result;
  for (const auto& text : lines_of(out)) {
    const auto m = test::parse_log_line(text);
    EXPECT_TRUE(m) << text;
    if (!m) continue;
    if (m->mark == '|') result.lines.push_back(m->text);
    if (m->mark == '*' && m->text.find("nothing was written to it") != std::string::npos)
      result.abandoned = true;
  }
  return result;
}

void expect_numbers_1_to(const logged_output& log, int last) {
  ASSERT_EQ(log.lines.size(), static_cast<std::size_t>(last));
  for (int i = 0; i < last; ++i) ASSERT_EQ(log.lines[i], std::to_string(i + 1)) << "line " << i;
}

// A slow reader of pipemux's log: 4 KiB every 10 ms, about 400 KB/s.
test::command_options slow_reader() {
  return {.timeout = 60s, .slow_read_bytes = 4096, .slow_read_pause = 10ms};
}

TEST(Drain, SmallReadsAndAShortGraceStillLogEveryLineASlowReaderTakes) {
  // 32-byte reads and a 0.2 s grace: the child is gone long before its output is read.
  const auto result = run_command({pipemux_exe(), "-r", "32", "-n", "1", "--stop-grace", "0.2",
                                   "--", "sh", "-c", "seq 1 12000"},
                                  slow_reader());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto log = parse(result.out);
  EXPECT_FALSE(log.abandoned) << "no process held the pipe: nothing may be abandoned";
  expect_numbers_1_to(log, 12000);
}

TEST(Drain, AChildThatFilledABigPipeAndExitedIsReadToTheEnd) {
  // The child enlarges its pipe to 1 MiB (where the system allows), fills it and exits at once.
  const std::string script =
      "import fcntl, os\n"
      "try:\n"
      "    fcntl.fcntl(1, 1031, 1 << 20)  # F_SETPIPE_SZ\n"
      "except OSError:\n"
      "    pass\n"
      "os.write(1, ''.join(f'{i}\\n' for i in range(1, 30001)).encode())\n";
  const auto result = run_command(
      {pipemux_exe(), "-r", "4096", "--stop-grace", "0.2", "--", "python3", "-c", script},
      slow_reader());
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto log = parse(result.out);
  EXPECT_FALSE(log.abandoned);
  expect_numbers_1_to(log, 30000);
}

TEST(Drain, APipeHeldOpenButSilentIsAbandonedAfterTheGraceAndTheLogSaysWhy) {
  const std::string marker = test::unique("pipemux-test-drain-silent-holder");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command({pipemux_exe(), "--stop-grace", "0.3", "--", "sh", "-c",
                                   "seq 1 3; " + test::long_sleep() + " & exit 0", marker});
  ASSERT_FALSE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto log = parse(result.out);
  EXPECT_TRUE(log.abandoned) << result.out;
  expect_numbers_1_to(log, 3);
  EXPECT_NE(result.out.find("another process holds it open"), std::string::npos) << result.out;
  EXPECT_TRUE(test::none_left(test::long_sleep())) << "the holder was left running";
}

TEST(Drain, APseudoTerminalHeldOpenIsCalledATerminal) {
  // With --pty the child's output is a terminal, not a pipe: a grandchild in a session of its
  // own keeps it open after the child exits; the log says it is the terminal it gives up on.
  const std::string sleep = test::long_sleep();
  const std::string script =
      "import os\n"
      "r, w = os.pipe()\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"  // out of reach of the terminal's hangup
      "    os.close(r); os.close(w)\n"
      "    os.execvp('sleep', ['sleep', '" +
      sleep.substr(6) +
      "'])\n"
      "os.close(w)\n"
      "os.read(r, 1)\n"  // EOF: the grandchild is in its own session
      "print('hi', flush=True)\n";
  const auto result =
      run_command({pipemux_exe(), "--pty", "--stop-grace", "0.3", "--", "python3", "-c", script},
                  {.timeout = 30s});
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("out | hi\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("* its terminal is still open but nothing was written to it"),
            std::string::npos)
      << result.out;
  EXPECT_EQ(result.out.find("pipe is still open"), std::string::npos) << result.out;
  EXPECT_TRUE(test::none_left(sleep)) << "the holder was left running";
}

TEST(Drain, APipeStillWrittenToByAGrandchildIsReadUntilItStops) {
  // The child exits at once; its background grandchild writes for longer than the grace, in
  // bursts closer together than the grace (0.1 s against 1 s): every line is read, and the pipe
  // is not abandoned.
  const auto result =
      run_command({pipemux_exe(), "--stop-grace", "1", "--", "sh", "-c",
                   "(i=1; while [ $i -le 20 ]; do echo $i; i=$((i+1)); sleep 0.1; done) & exit 0"},
                  {.timeout = 60s});
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto log = parse(result.out);
  EXPECT_FALSE(log.abandoned) << result.out;
  expect_numbers_1_to(log, 20);
}

}  // namespace
}  // namespace pipemux
