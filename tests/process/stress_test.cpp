// The bounded stress run: 256 children writing lines of random length (1 byte to twice
// max_line) with random pauses, some exiting early and a quarter killed with SIGKILL at random
// moments. For every child, what was logged must be exactly what it wrote, in order.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "pipemux/escape.hpp"
#include "run_command.hpp"
#include "stress_stream.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;

// Runs `children` stress children and checks every byte each one wrote against the log. With
// `slow_sink`, the log goes to a reader that takes it slowly (and the grace is short), so that
// children are long gone while their output is still being read.
void run_stress(std::size_t children, std::size_t lines, bool slow_sink) {
  constexpr std::size_t max_line = 300;
  const std::string record = test::temp_path("pipemux_stress_written_");
  const std::string log_path = test::temp_path("pipemux_stress.log");
  std::remove(log_path.c_str());
  std::vector<std::string> argv = {
      test::pipemux_exe(), "-n",  std::to_string(children), "--max-line", std::to_string(max_line),
      "--read-size",       "4096"};
  if (slow_sink)
    argv.insert(argv.end(), {"--stop-grace", "0.2"});
  else
    argv.insert(argv.end(), {"-o", log_path});
  argv.insert(argv.end(), {"--", PIPEMUX_STRESS_CHILD_EXE, std::to_string(lines),
                           std::to_string(max_line), record});
  test::command_options options{.timeout = 120s};
  if (slow_sink) {
    options.slow_read_bytes = 16384;
    options.slow_read_pause = 5ms;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto result = test::run_command(argv, options);
  ASSERT_FALSE(result.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 120s);
  EXPECT_EQ(result.exit_code, 1) << "some children fail on purpose; " << result.err;
  if (slow_sink) std::ofstream(log_path) << result.out;

  // Rebuild each child's bytes from the log: unescape, and a '\n' after every whole line.
  std::map<std::size_t, std::string> logged;
  std::map<std::size_t, std::string> exits;
  std::ifstream log(log_path);
  std::string line;
  std::size_t lines_read = 0;
  while (std::getline(log, line)) {
    ++lines_read;
    // "<date> <time> pipemux_stress_child.<index>[<pid>] <stream> <mark> <text>". No line of
    // pipemux's own: nothing here is an orphan, a failed wait or an abandoned pipe.
    ASSERT_EQ(line.find(" pipemux["), std::string::npos) << line;
    const auto dot = line.find('.', 27);
    const auto close = line.find("] ", dot);
    ASSERT_TRUE(dot != std::string::npos && close != std::string::npos) << line;
    const std::size_t index = std::stoul(line.substr(dot + 1));
    const auto stream_end = line.find(' ', close + 2);
    const char mark = line.at(stream_end + 1);
    const std::string text = line.size() > stream_end + 3 ? line.substr(stream_end + 3) : "";
    if (mark == '*') {
      if (text.find("exited with code") == 0 || text.find("killed by") == 0)
        exits[index] = text;
      else  // a failed wait, a pipe given up (no stress child leaves a descendant holding it)
        EXPECT_TRUE(text.find("started: ") == 0 || text.find("summary: ") == 0) << line;
      continue;
    }
    ASSERT_EQ(line.substr(close + 2, 4), "out ") << line;
    const auto bytes = unescape(text);
    ASSERT_TRUE(bytes) << line;
    ASSERT_LE(bytes->size(), max_line) << line;
    logged[index] += *bytes;
    if (mark == '|') logged[index] += '\n';
  }
  ASSERT_GT(lines_read, children);

  for (std::size_t index = 0; index < children; ++index) {
    stress::stream expected_stream(index, max_line);
    std::string expected;
    for (std::size_t n = 0; n < lines; ++n) expected += expected_stream.next_line();
    std::uint64_t recorded = 0;
    std::ifstream(record + std::to_string(index)) >> recorded;
    const std::string& got = logged[index];
    ASSERT_EQ(got, expected.substr(0, got.size())) << "child " << index << ": bytes differ";
    EXPECT_EQ(got.size(), recorded) << "child " << index << ": logged != written";
    switch (stress::fate_of(index)) {
      case stress::fate::runs_to_the_end:
        EXPECT_EQ(got.size(), expected.size()) << "child " << index;
        EXPECT_EQ(exits[index].rfind("exited with code 0", 0), 0u) << index << ": " << exits[index];
        break;
      case stress::fate::exits_early:
        EXPECT_EQ(exits[index].rfind("exited with code 7", 0), 0u) << index << ": " << exits[index];
        break;
      case stress::fate::killed:
        EXPECT_EQ(exits[index].rfind("killed by SIGKILL", 0), 0u) << index << ": " << exits[index];
        break;
    }
  }
}

TEST(Stress, EveryByteOfEveryChildLoggedInOrderDespiteKillsAndEarlyExits) {
  run_stress(256, 600, false);
}

TEST(Stress, EveryByteLoggedThroughASlowSinkWithAShortGrace) {
  run_stress(64, 600, true);
}

}  // namespace
}  // namespace pipemux
