// The pipemux command end to end: a real pipemux process with real children.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/version.h>
#include <boost/version.hpp>

#include <dirent.h>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "log_line.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/version.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::none_left;
using test::pipemux_exe;
using test::run_command;

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, RunsTheConfiguredSpamChildrenAndLogsEveryMessage) {
  const auto config = write_file("pipemux_short.toml",
                                 "children = 2\nread_size = 32\n[spam]\ncount = 5\ninterval = 0\n");
  const auto result = run_command({pipemux_exe(), "--config", config});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  std::map<std::string, std::vector<std::string>> spam_by_child;
  std::set<std::string> exited;
  for (const auto& line : lines_of(result.out)) {
    const auto m = test::parse_log_line(line);
    ASSERT_TRUE(m) << line;
    EXPECT_EQ(m->name, "spam");
    if (m->mark == '|') spam_by_child[m->index].push_back(m->text);
    if (m->mark == '*' && m->text.rfind("exited with code 0 after", 0) == 0)
      exited.insert(m->index);
  }
  const std::vector<std::string> expected = {"Spam 0", "Spam 1", "Spam 2", "Spam 3", "Spam 4"};
  EXPECT_EQ(spam_by_child["0"], expected);
  EXPECT_EQ(spam_by_child["1"], expected);
  EXPECT_EQ(exited, (std::set<std::string>{"0", "1"}));
}

TEST(Cli, RawModeLogRecoversEveryByteWritten) {
  // Raw reads of 32 bytes, as the seed demo did: unescaping each child's '~' lines and joining
  // them gives back exactly what it wrote, even the bytes that had to be escaped.
  const std::string script =
      "i=0; while [ $i -lt 300 ]; do printf 'line %d of child %s\t\\ \033[1m\n' $i "
      "$PIPEMUX_CHILD_INDEX; i=$((i+1)); done";
  const auto result = run_command({pipemux_exe(), "--framing", "raw", "--read-size", "32", "-n",
                                   "3", "--", "sh", "-c", script});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::map<std::string, std::string> joined;
  for (const auto& line : lines_of(result.out)) {
    const auto m = test::parse_log_line(line);
    ASSERT_TRUE(m) << line;
    if (m->mark != '~') continue;
    const auto bytes = unescape(m->text);
    ASSERT_TRUE(bytes) << line;
    ASSERT_LE(bytes->size(), 32u);
    joined[m->index] += *bytes;
  }
  ASSERT_EQ(joined.size(), 3u);
  for (const auto& [child, bytes] : joined) {
    std::string expected;
    for (int i = 0; i < 300; ++i)
      expected += "line " + std::to_string(i) + " of child " + child + "\t\\ \033[1m\n";
    EXPECT_EQ(bytes, expected) << "child " << child;
  }
}

TEST(Cli, TheShippedConfigIsValid) {
  // Runs config/pipemux.toml for real, stopped with SIGINT once a few messages arrived.
  const auto result =
      run_command({pipemux_exe(), "--config", PIPEMUX_SOURCE_DIR "/config/pipemux.toml"},
                  {.timeout = 30s, .watch = [](int pid, const std::string& out) {
                     if (std::count(out.begin(), out.end(), '|') < 3) return false;
                     ::kill(pid, SIGINT);
                     return true;
                   }});
  EXPECT_EQ(result.exit_code, 128 + SIGINT) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_NE(result.out.find("received SIGINT: stopping the children"), std::string::npos);
}

TEST(Cli, ConfigErrorIsOneLineNamingFileLineColumnAndKeyExitTwo) {
  const auto config = write_file("pipemux_bad.toml", "children = 2\nread_size = 0\n");
  const auto result = run_command({pipemux_exe(), "-c", config});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "pipemux: error: " + config +
                            ":2:13: read_size: must be between 1 and 16777216 (got 0)\n");
}

TEST(Cli, HelpShowsDefaultsAndExamplesAndVersionTheLibraries) {
  const auto help = run_command({pipemux_exe(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* part :
       {"-r,--read-size UINT:UINT in [1 - 16777216]=65536",
        "--stop-grace DECIMAL:SECONDS in [0 - 3600]=5", "--stop-signal TEXT=SIGTERM",
        "--cgroup auto|off|required=auto", "\nExamples:\n  pipemux --names api,web"})
    EXPECT_NE(help.out.find(part), std::string::npos) << part << "\n" << help.out;
  const auto version = run_command({pipemux_exe(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  // The versions of the headers this test was built with: the same packages as pipemux's.
  EXPECT_EQ(version.out,
            fmt::format("pipemux {} (built with Boost {}.{}.{}, spdlog {}.{}.{}, fmt {}.{}.{})\n",
                        PIPEMUX_VERSION_STRING, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                        BOOST_VERSION % 100, SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH,
                        FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100));
}

TEST(Cli, MissingProgramExitsThreeWhileOthersRun) {
  const auto config =
      write_file("pipemux_missing.toml",
                 "[[program]]\nname = \"ghost\"\ncommand = [\"pipemux-ghost-program\"]\n"
                 "[[program]]\nname = \"real\"\ncommand = [\"echo\", \"still here\"]\n");
  const auto result = run_command({pipemux_exe(), "-c", config});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_NE(result.out.find("ghost.0["), std::string::npos);
  EXPECT_NE(result.out.find("* cannot start 'pipemux-ghost-program': not found in PATH"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("real.0 ["), std::string::npos)  // padded to the widest label
      << result.out;
  EXPECT_NE(result.out.find("out | still here"), std::string::npos) << result.out;
}

TEST(Cli, FailingChildMakesExitCodeOne) {
  const auto result = run_command({pipemux_exe(), "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("exited with code 7"), std::string::npos) << result.out;
}

TEST(Cli, SigtermStopsEveryChildLogsAllTheyWroteAndExitsWith143) {
  // Each child records the last line it finished writing: after the stop, every line up to
  // that one must be in the log, in order, once.
  const std::string marker = test::unique("pipemux-test-sigterm-marker");
  const std::string record = test::temp_path("pipemux_cli_written_");
  const auto result = run_command({pipemux_exe(), "-n", "3", "--", "sh", "-c",
                                   "i=0; while :; do echo \"line $i\"; echo $i > " + record +
                                       "$PIPEMUX_CHILD_INDEX; i=$((i+1)); done",
                                   marker},
                                  {.timeout = 30s, .watch = [](int pid, const std::string& out) {
                                     if (std::count(out.begin(), out.end(), '\n') < 3000)
                                       return false;
                                     ::kill(pid, SIGTERM);
                                     return true;
                                   }});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_NE(result.out.find("received SIGTERM"), std::string::npos);
  int killed = 0;
  for (const auto& line : lines_of(result.out))
    killed += line.find("* killed by SIGTERM after") != std::string::npos;
  EXPECT_EQ(killed, 3) << result.out;
  EXPECT_TRUE(none_left(marker));
  std::map<std::string, std::vector<std::string>> logged;
  for (const auto& line : lines_of(result.out)) {
    const auto m = test::parse_log_line(line);
    ASSERT_TRUE(m) << line;
    if (m->mark == '|') logged[m->index].push_back(m->text);
  }
  for (const std::string child : {"0", "1", "2"}) {
    long long last_written = -1;
    std::ifstream(record + child) >> last_written;
    const auto& lines = logged[child];
    ASSERT_GE(static_cast<long long>(lines.size()), last_written + 1) << "child " << child;
    for (std::size_t i = 0; i < lines.size(); ++i)
      ASSERT_EQ(lines[i], "line " + std::to_string(i)) << "child " << child;
  }
}

TEST(Cli, ClosedStdoutStopsChildrenAndExitsQuietlyWith141) {
  const std::string marker = test::unique("pipemux-test-head-marker");
  const auto result = run_command(
      {"/bin/bash", "-c",
       "'" + pipemux_exe() + "' -n 2 -- sh -c 'while :; do echo tick; sleep 0.01; done' " + marker +
           " | head -n 1; echo \"status=${PIPESTATUS[0]}\""});
  const auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 2u) << result.out;
  EXPECT_NE(lines.back(), "");
  EXPECT_EQ(lines.back(), "status=141");
  EXPECT_EQ(result.err, "") << "no 'Broken pipe' spew";
  EXPECT_TRUE(none_left(marker));
}

TEST(Cli, UnwritableOutputIsAClearErrorChildrenStoppedExitFour) {
  const std::string marker = test::unique("pipemux-test-dev-full-marker");
  const auto result = run_command({pipemux_exe(), "-o", "/dev/full", "--", "sh", "-c",
                                   "while :; do echo x; sleep 0.01; done", marker});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.err,
            "pipemux: error: cannot write the log to '/dev/full': No space left on device\n");
  EXPECT_TRUE(none_left(marker));
}

TEST(Cli, OutputFileGetsTheLog) {
  const std::string path = test::temp_path("pipemux_output.log");
  std::remove(path.c_str());
  const auto result = run_command({pipemux_exe(), "-o", path, "--", "echo", "to the file"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("echo.0["), std::string::npos);
  EXPECT_NE(text.find("out | to the file\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace pipemux
