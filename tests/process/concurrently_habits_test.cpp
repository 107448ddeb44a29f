// concurrently's habits, through the real binary and real children: --success chooses whose
// ends make the exit code, --timings ends the log with a table, and a mistyped option or a
// subcommand pipemux lacks is told apart from a command.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "log_line.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using test::lines_of;
using test::pipemux_exe;
using test::run_command;

// "fails" exits 3 at once; "works" exits 0 a moment later, so it is the last to end.
int exit_code_with(const std::vector<std::string>& success) {
  std::vector<std::string> argv = {pipemux_exe(), "--names", "fails,works"};
  argv.insert(argv.end(), success.begin(), success.end());
  argv.insert(argv.end(), {"exit 3", "sleep 0.3; exit 0"});
  const auto result = run_command(argv);
  EXPECT_EQ(result.err, "") << result.out;
  return result.exit_code;
}

TEST(ConcurrentlyHabits, SuccessSaysWhoseEndsMakeTheExitCode) {
  EXPECT_EQ(exit_code_with({}), 1);  // all, the default
  EXPECT_EQ(exit_code_with({"--success", "all"}), 1);
  EXPECT_EQ(exit_code_with({"--success", "first"}), 1);
  EXPECT_EQ(exit_code_with({"--success", "last"}), 0);
  EXPECT_EQ(exit_code_with({"--success", "works"}), 0);
  EXPECT_EQ(exit_code_with({"--success", "fails"}), 1);
  EXPECT_EQ(exit_code_with({"--success", "!fails"}), 0);
  EXPECT_EQ(exit_code_with({"--success", "!works"}), 1);
}

TEST(ConcurrentlyHabits, AChildPipemuxStoppedIsNoFailureForSuccessFirstOrLast) {
  // "quick" ends first and, with --stop-on exit, stops "long": long's SIGTERM is ours.
  const auto result = run_command({pipemux_exe(), "--stop-on", "exit", "--success", "last",
                                   "--names", "quick,long", "sleep 0.2", "exec sleep 30"});
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("killed by SIGTERM"), std::string::npos) << result.out;
}

TEST(ConcurrentlyHabits, ASuccessNamingNoProgramIsAUsageError) {
  const auto result = run_command({pipemux_exe(), "--success", "api", "echo a", "echo b"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "pipemux: error: --success: 'api' is neither all, first, last, NAME nor !NAME of a "
            "program here (echo, echo-2)\n");
}

TEST(ConcurrentlyHabits, TimingsEndTheLogWithEachChildsStartEndAndRunTime) {
  const auto result =
      run_command({pipemux_exe(), "--timings", "--names", "nap,oops", "sleep 0.4", "exit 2"});
  EXPECT_EQ(result.exit_code, 1) << result.out;
  const auto lines = lines_of(result.out);
  ASSERT_GE(lines.size(), 3U) << result.out;
  // The table is the log's last three lines, pipemux's own, in the children's order.
  const std::vector<std::string> table(lines.end() - 3, lines.end());
  for (const auto& line : table) {
    const auto parsed = test::parse_log_line(line);
    ASSERT_TRUE(parsed) << line;
    EXPECT_EQ(parsed->name, "pipemux");
    EXPECT_EQ(parsed->mark, '*');
  }
  EXPECT_TRUE(
      std::regex_search(table[0], std::regex("timings: child +started +ended +ran  how it ended$")))
      << table[0];
  const std::regex row(
      R"(timings: (\S+) +(\d\d:\d\d:\d\d\.\d{3})  (\d\d:\d\d:\d\d\.\d{3}) +(\d+\.\d{3}) s  (.*)$)");
  std::smatch nap, oops;
  ASSERT_TRUE(std::regex_search(table[1], nap, row)) << table[1];
  ASSERT_TRUE(std::regex_search(table[2], oops, row)) << table[2];
  EXPECT_EQ(nap[1], "nap.0");
  EXPECT_EQ(oops[1], "oops.0");
  EXPECT_GE(std::stod(nap[4]), 0.39);
  EXPECT_LT(std::stod(oops[4]), std::stod(nap[4]));
  EXPECT_EQ(nap[5], "exited with code 0");
  EXPECT_EQ(oops[5], "exited with code 2");
}

TEST(ConcurrentlyHabits, AnUnknownOptionBeforeEveryCommandIsJustUnknown) {
  const auto before = run_command({pipemux_exe(), "--sucess", "first", "echo a", "echo b"});
  EXPECT_EQ(before.exit_code, 2);
  EXPECT_EQ(before.out, "");
  EXPECT_EQ(before.err,
            "pipemux: error: The following argument was not expected: --sucess (see pipemux "
            "--help)\n");
  // Between two commands it is said after the one before it, not after the last.
  const auto between = run_command({pipemux_exe(), "echo a", "-x", "echo b"});
  EXPECT_EQ(between.exit_code, 2);
  EXPECT_NE(between.err.find("unknown option -x (after the command 'echo a')"), std::string::npos)
      << between.err;
}

TEST(ConcurrentlyHabits, ASubcommandPipemuxLacksGetsAHintNotAShellRun) {
  const auto result = run_command({pipemux_exe(), "completion"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "pipemux: error: 'completion' is not a pipemux command (they are spam, check and ctl), "
            "and no "
            "program of that name is in PATH (see pipemux --help)\n");
  // A word that is a program is run as one.
  const auto program = run_command({pipemux_exe(), "true"});
  EXPECT_EQ(program.exit_code, 0) << program.err;
}

// At most N at once: each child records when it started and ended (a shared file, appended
// with O_APPEND); no moment has more than N of them between their two lines.
TEST(ConcurrentlyHabits, MaxProcessesRunsAtMostNAtOnceAndStartsTheRestInOrder) {
  const std::string record = test::temp_path("max_processes_record");
  std::vector<std::string> argv = {pipemux_exe(), "--max-processes", "2"};
  for (int i = 0; i < 5; ++i)
    argv.push_back(
        fmt::format("echo start >> {0}; sleep 0.2; echo end >> {0}; echo child {1}", record, i));
  // One that fails at once (its shell finds no such program) frees its place too.
  argv.insert(argv.begin() + 4, "exec ./pipemux-no-such-program");
  const auto result = run_command(argv);
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  int running = 0;
  int most = 0;
  int ended = 0;
  for (const auto& line : lines_of(test::read_file(record))) {
    running += line == "start" ? 1 : -1;
    ended += line == "end" ? 1 : 0;
    most = std::max(most, running);
  }
  EXPECT_EQ(most, 2);
  EXPECT_EQ(ended, 5);
  // Started in the order given.
  std::vector<std::string> started;
  for (const auto& line : lines_of(result.out))
    if (const auto parsed = test::parse_log_line(line);
        parsed && parsed->mark == '*' && parsed->text.starts_with("started: "))
      started.push_back(parsed->name);
  EXPECT_EQ(started, (std::vector<std::string>{"echo", "pipemux-no-such-program", "echo-2",
                                               "echo-3", "echo-4", "echo-5"}))
      << result.out;
}

// --raw: each child's bytes exactly as written (colours, a tab, bytes that are not UTF-8, a
// last line without a newline), whole lines, and nothing of pipemux's; the exit code still
// tells the failure. The second child writes once the first has ended, so the order is known.
TEST(ConcurrentlyHabits, RawWritesTheChildrensBytesAsWrittenAndNothingElse) {
  const std::string flag = test::temp_path("raw-first-done");
  const std::string first =
      R"(printf '\033[31mred\033[0m\tand \377 byte\n'; printf 'a second line\n'; )"
      R"(printf 'no newline at the end'; touch )" +
      flag;
  const std::string second = "while [ ! -e " + flag + " ]; do sleep 0.02; done; sleep 0.2; " +
                             "printf 'second child\\n'; exit 3";
  const std::string file = test::temp_path("raw.out");
  const auto result =
      run_command({pipemux_exe(), "--raw", "-o", "-", "-o", "raw:" + file, first, second});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const std::string expected =
      "\033[31mred\033[0m\tand \377 byte\na second line\nno newline at the endsecond child\n";
  EXPECT_EQ(result.out, expected);
  EXPECT_EQ(test::read_file(file), expected);
  EXPECT_EQ(result.err, "");
  // --raw is --format raw; with another format it is a usage error.
  const auto both = run_command({pipemux_exe(), "--raw", "--format", "json", "true"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err, "pipemux: error: --raw is --format raw: give one of them\n");
}

// --group: each child's lines and reports together, in the children's order. The first
// child is written as it comes; the second, which writes before the first has ended, is held
// until then (the first waits for the second's line to exist before going on).
TEST(ConcurrentlyHabits, GroupWritesEachChildsOutputTogetherInTheChildrensOrder) {
  const std::string flag = test::temp_path("group-second-wrote");
  const std::string first = "echo a1; while [ ! -e " + flag + " ]; do sleep 0.02; done; " +
                            "sleep 0.1; echo a2; sleep 0.3; echo a3";
  const std::string second = "echo b1; touch " + flag + "; echo b2";
  bool a2_before_b1 = false;
  test::command_options watching;
  watching.watch = [&](int, const std::string& out) {
    if (out.find("out | a2\n") == std::string::npos) return false;
    a2_before_b1 = out.find("out | b1\n") == std::string::npos;
    return true;
  };
  const auto result = run_command(
      {pipemux_exe(), "--group", "--names", "one,two,three", first, second, "echo c1; exit 2"},
      watching);
  EXPECT_EQ(result.exit_code, 1) << result.out;
  EXPECT_TRUE(a2_before_b1) << "the first child was not written as it came:\n" << result.out;
  std::vector<std::string> order;  // each line's label and what it says
  for (const auto& line : lines_of(result.out))
    if (const auto parsed = test::parse_log_line(line); parsed && parsed->name != "pipemux")
      order.push_back(parsed->label() + " " +
                      (parsed->mark == '*' ? parsed->text.substr(0, 7) : parsed->text));
  EXPECT_EQ(order, (std::vector<std::string>{"one.0 started", "one.0 a1", "one.0 a2", "one.0 a3",
                                             "one.0 exited ", "two.0 started", "two.0 b1",
                                             "two.0 b2", "two.0 exited ", "three.0 started",
                                             "three.0 c1", "three.0 exited ", "one.0 summary",
                                             "two.0 summary", "three.0 summary"}))
      << result.out;
}

// What --group holds is bounded: past 64 MiB, the child holding it is written at once, out of
// its turn, with a line saying so; no byte is lost.
TEST(ConcurrentlyHabits, GroupHoldsNoMoreThanItsBoundAndLosesNothing) {
  const std::string log = test::temp_path("group-bound.log");
  const std::string done = test::temp_path("group-bound-big-done");
  // "slow" ends only once "big" has written everything (whatever the build's speed): all of
  // big's output comes while it is held.
  const auto result =
      run_command({pipemux_exe(), "--group", "-o", log, "--names", "slow,big",
                   "while [ ! -e " + done + " ]; do sleep 0.05; done; echo slow done",
                   "head -c 70000000 /dev/zero | tr '\\0' x | fold -w 999; touch " + done});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string text = test::read_file(log);
  // Just past the bound (a read's worth: more under a slow sanitizer build).
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(\* --group: 6[4-9]\.\d MiB held for big\.0 )"
                                                 R"(before its turn: written now, out of order, )"
                                                 R"(rather than held without bound\n)")))
      << text.substr(0, 2000);
  std::size_t lines = 0;
  for (const auto& line : lines_of(text))
    if (line.find("big.0 [") != std::string::npos && line.find("] out ") != std::string::npos)
      ++lines;
  // fold's 70070 lines of 999 bytes, and 70 bytes without a newline.
  EXPECT_EQ(lines, 70071U);
  EXPECT_NE(text.find("summary: 70071 messages, 70070070 bytes"), std::string::npos);
  EXPECT_NE(text.find("slow.0["), std::string::npos);
  EXPECT_NE(text.find("out | slow done\n"), std::string::npos);
}

// -i: pipemux's stdin goes on to the children. A plain line to the first child (or
// --input-target), "NAME:" to each child of a program, "NAME.N:" to one; at the end of
// pipemux's stdin every child's ends, and a last line without a newline goes as it is.
TEST(ConcurrentlyHabits, InputGoesToTheTargetOrTheChildItNames) {
  const std::string reader =
      "while IFS= read -r l; do echo \"got [$l]\"; done; "
      "echo \"eof after [$l]\"";
  const std::string input =
      "plain\\nworker:to every worker\\nworker.1:to the second worker\\n"
      "nobody:not a program\\nweb:to web\\nlast";
  const std::string config = test::temp_path("input.toml");
  std::ofstream(config) << "[[program]]\nname = \"web\"\ncommand = '" << reader
                        << "'\n[[program]]\nname = \"worker\"\ninstances = 2\ncommand = '" << reader
                        << "'\n";
  const auto result = run_command({"/bin/sh", "-c",
                                   "printf '" + input + "' | " + pipemux_exe() + " -i -c " +
                                       config + " --log-pattern '%L %v'"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto lines = lines_of(result.out);
  const auto said = [&](const std::string& label) {
    std::vector<std::string> out;
    for (const auto& line : lines)
      if (line.starts_with(label + " ") && line.find(" started: ") == std::string::npos &&
          line.find(" exited ") == std::string::npos &&
          line.find(" summary: ") == std::string::npos)
        out.push_back(line.substr(line.find_first_not_of(' ', label.size())));
    return out;
  };
  EXPECT_EQ(said("web.0"), (std::vector<std::string>{"got [plain]", "got [nobody:not a program]",
                                                     "got [to web]", "eof after [last]"}))
      << result.out;
  EXPECT_EQ(said("worker.0"), (std::vector<std::string>{"got [to every worker]", "eof after []"}))
      << result.out;
  EXPECT_EQ(said("worker.1"),
            (std::vector<std::string>{"got [to every worker]", "got [to the second worker]",
                                      "eof after []"}))
      << result.out;

  // --input-target: where plain lines go; a name that is no program is a usage error.
  const auto targeted =
      run_command({"/bin/sh", "-c",
                   "printf 'x\\n' | " + pipemux_exe() + " --input-target worker.1 -c " + config +
                       " --log-pattern '%L %v'"});
  EXPECT_NE(targeted.out.find("worker.1 got [x]\n"), std::string::npos) << targeted.out;
  EXPECT_EQ(targeted.out.find("web.0 got"), std::string::npos) << targeted.out;
  const auto wrong = run_command({pipemux_exe(), "--input-target", "api", "cat"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_EQ(wrong.err,
            "pipemux: error: --input-target: 'api' is neither NAME nor NAME.N of a program here "
            "(cat)\n");
}

// A child that does not read its stdin holds pipemux's reading back, as a pipeline would:
// pipemux does not swallow its whole stdin into memory meanwhile.
TEST(ConcurrentlyHabits, InputIsReadOnlyAsFastAsTheChildTakesIt) {
  const std::string progress = test::temp_path("input-progress");
  // Writes 64 MiB in 64 KiB steps, saying after each how much it has written.
  const std::string writer =
      "python3 -c 'import os\nfor i in range(1, 1025):\n"
      "    os.write(1, b\"x\" * 65536)\n"
      "    open(\"" +
      progress + "\", \"w\").write(str(i * 65536))'";
  const auto result =
      run_command({"/bin/sh", "-c",
                   writer + " | " + pipemux_exe() + " -i --log-pattern '%v' 'sleep 1; cat " +
                       progress + "; echo; head -c 1 > /dev/null'"},
                  {.timeout = std::chrono::seconds(30)});
  EXPECT_FALSE(result.timed_out);
  const auto lines = lines_of(result.out);
  std::uint64_t written = 0;
  for (const auto& line : lines)
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) != 0)
      written = std::stoull(line);
  // The child's pipe (64 KiB), pipemux's one read in flight (64 KiB) and the writer's pipe
  // (64 KiB) hold a few hundred KiB; far from the 64 MiB offered.
  EXPECT_GT(written, 0U) << result.out;
  EXPECT_LT(written, 1U << 20) << result.out;
}

// Input for a child that has not started yet is held for it, and does not hold pipemux's
// reading back: the first child needs the end of stdin before the second may start.
TEST(ConcurrentlyHabits, InputForAChildNotStartedYetWaitsForItWithoutHoldingTheRest) {
  for (const char* pty : {"", " --pty"}) {
    const auto result = run_command(
        {"/bin/sh", "-c",
         "printf 'b:for b\\nfor a\\n' | " + pipemux_exe() + pty +
             " -i --max-processes 1 --log-pattern '%N %v' --names a,b 'cat; echo a ended' "
             "'cat; echo b ended'"},
        {.timeout = std::chrono::seconds(20)});
    EXPECT_FALSE(result.timed_out) << pty;
    EXPECT_EQ(result.exit_code, 0) << pty << result.out;
    EXPECT_NE(result.out.find("a for a\n"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("a a ended\n"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("b for b\n"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("b b ended\n"), std::string::npos) << result.out;
  }
}

}  // namespace
}  // namespace pipemux
