// What a [[program]] may set for itself, end to end through real children: success_codes,
// stop_on, stop_signal, stop_grace, env_file, log_streams, and --hide.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::pipemux_exe;
using test::run_command;

// A config in a directory of its own (for env_file paths relative to it).
std::string write_config(const std::string& name, const std::string& text) {
  const std::filesystem::path dir = test::temp_path(name);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "pipemux.toml") << text;
  return (dir / "pipemux.toml").string();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The first line of `text` that holds `part`.
std::string line_with(const std::string& text, const std::string& part) {
  for (const auto& line : test::lines_of(text))
    if (has(line, part)) return line;
  return {};
}

TEST(ProgramOptions, AListedSuccessCodeIsNoFailureForRestartsOrTheExitCode) {
  const std::string program =
      "restart_delay = 0.01\nmax_restarts = 1\n"
      "[[program]]\nname = \"interrupted\"\ncommand = \"exit 130\"\nrestart = \"on-failure\"\n";
  const auto listed = run_command(
      {pipemux_exe(), "-c", write_config("codes", program + "success_codes = [0, 130]\n")});
  EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  EXPECT_TRUE(has(listed.out, "* exited with code 130 (a success code) after")) << listed.out;
  EXPECT_FALSE(has(listed.out, "restarting")) << listed.out;

  const auto unlisted = run_command({pipemux_exe(), "-c", write_config("no_codes", program)});
  EXPECT_EQ(unlisted.exit_code, 1) << unlisted.out;
  EXPECT_TRUE(has(unlisted.out, "* restarting: it exited with code 130")) << unlisted.out;
}

TEST(ProgramOptions, OneProgramsStopOnEndsTheRunWhileTheOthersWouldRunOn) {
  const std::string sleep = test::long_sleep();
  const auto config = write_config(
      "stop_on", "[[program]]\nname = \"server\"\ncommand = \"" + sleep +
                     "\"\n"
                     "[[program]]\nname = \"tests\"\ncommand = \"sleep 0.2; echo passed\"\n"
                     "stop_on = \"exit\"\n");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command({pipemux_exe(), "-c", config}, {.timeout = 30s});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 0) << result.out;  // the server was stopped by us: no failure
  EXPECT_TRUE(has(result.out, "| passed\n")) << result.out;
  EXPECT_TRUE(has(result.out, "exited with code 0: stopping the other children")) << result.out;
  EXPECT_TRUE(has(result.out, "server.0[")) << result.out;
  EXPECT_TRUE(has(result.out, "killed by SIGTERM")) << result.out;
  EXPECT_TRUE(test::none_left(sleep));
}

TEST(ProgramOptions, EachProgramIsStoppedWithItsOwnSignalAndGrace) {
  const std::string sleep = test::long_sleep();
  // The run's grace is 30 s: only the programs' own settings can end this quickly.
  const auto config = write_config(
      "own_grace",
      "stop_grace = 30\n"
      "[[program]]\nname = \"polite\"\nstop_signal = \"SIGINT\"\n"
      "command = \"trap 'echo got INT; exit 0' INT; echo up; while :; do sleep 0.05; done\"\n"
      "[[program]]\nname = \"stubborn\"\nstop_grace = 0.3\n"
      "command = \"trap '' TERM; echo up; exec " +
          sleep + "\"\n");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command(
      {pipemux_exe(), "-c", config}, test::signal_when(SIGTERM, [](const std::string& out) {
        const auto first = out.find("| up\n");
        return first != std::string::npos && out.find("| up\n", first + 1) != std::string::npos;
      }));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "a program waited the run's grace";
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  EXPECT_TRUE(has(result.out, "| got INT\n")) << result.out;
  EXPECT_TRUE(has(result.out, "stubborn.0[")) << result.out;
  EXPECT_TRUE(has(result.out, "* still running after the grace period: sent SIGKILL"))
      << result.out;
  EXPECT_TRUE(has(result.out, "killed by SIGKILL")) << result.out;
  EXPECT_TRUE(test::none_left(sleep));
}

TEST(ProgramOptions, AnEnvFileBesideTheConfigGoesUnderTheProgramsOwnEnv) {
  const auto config =
      write_config("env_file",
                   "[[program]]\nname = \"api\"\nenv_file = \"api.env\"\nenv = { BAR = \"own\" }\n"
                   "command = \"echo \\\"$FOO $BAR\\\"\"\n");
  std::ofstream(std::filesystem::path(config).parent_path() / "api.env")
      << "FOO=from-file\nBAR=file\n";
  const auto result = run_command({pipemux_exe(), "-c", config});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(has(result.out, "| from-file own\n")) << result.out;

  const auto missing =
      write_config("env_file_missing",
                   "[[program]]\nname = \"api\"\nenv_file = \"nope.env\"\ncommand = \"true\"\n");
  const auto bad = run_command({pipemux_exe(), "-c", missing});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(has(bad.err, "nope.env: cannot read: No such file or directory")) << bad.err;
}

TEST(ProgramOptions, HiddenProgramsAndChosenStreamsAreRunButNotLogged) {
  const auto config = write_config(
      "streams",
      "[[program]]\nname = \"noisy\"\ncommand = \"echo noisy-out; echo noisy-err >&2\"\n"
      "[[program]]\nname = \"errors\"\nlog_streams = \"err\"\n"
      "command = \"echo errors-out; echo errors-err >&2\"\n"
      "[[program]]\nname = \"plain\"\ncommand = \"echo plain-out\"\n");
  const auto result = run_command({pipemux_exe(), "-c", config, "--hide", "noisy"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(has(result.out, "| noisy-out")) << result.out;
  EXPECT_FALSE(has(result.out, "| noisy-err")) << result.out;
  // Its reports are still there, and its summary counts what was not shown.
  EXPECT_TRUE(has(line_with(result.out, "noisy.0 ["), "* started: /bin/sh -c echo noisy-out"))
      << result.out;
  EXPECT_TRUE(has(result.out, "noisy.0 [")) << result.out;
  EXPECT_FALSE(has(result.out, "| errors-out")) << result.out;
  EXPECT_TRUE(has(result.out, "err | errors-err\n")) << result.out;
  EXPECT_TRUE(has(result.out, "out | plain-out\n")) << result.out;
  std::string summary;
  for (const auto& line : test::lines_of(result.out))
    if (has(line, "noisy.0 [") && has(line, "summary:")) summary = line;
  EXPECT_TRUE(has(summary, "summary: 2 messages, 20 bytes, exited with code 0")) << result.out;

  const auto unknown = run_command({pipemux_exe(), "-c", config, "--hide", "nosiy"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(has(unknown.err,
                  "--hide: no program named 'nosiy' (the programs: noisy, errors, "
                  "plain)"))
      << unknown.err;
}

}  // namespace
}  // namespace pipemux
