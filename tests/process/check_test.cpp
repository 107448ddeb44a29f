// `pipemux check`: what a run would start, said without starting anything, and every program
// that could not start named, through the real binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_command.hpp"

namespace pipemux {
namespace {
using test::pipemux_exe;
using test::run_command;

TEST(Check, SaysWhatWouldRunAndStartsNothing) {
  const std::string dir = test::temp_path("check_ok");
  std::filesystem::create_directories(dir);
  const std::string marker = dir + "/started";
  std::ofstream(dir + "/Procfile") << "web: touch " << marker << "; echo web\n"
                                   << "worker: exec sleep 30\n";
  std::ofstream(dir + "/.env") << "GREETING=hi\n";
  const auto result =
      run_command({"/bin/sh", "-c", "cd \"$1\" && exec \"$2\" check -m web=2 -o run.log", "sh", dir,
                   pipemux_exe()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out, "web.0  sh -c 'touch " + marker +
                            "; echo web' (PORT=5000; env GREETING)\n"
                            "web.1  sh -c 'touch " +
                            marker +
                            "; echo web' (PORT=5001; env GREETING)\n"
                            "worker.0  sh -c 'exec sleep 30' (PORT=5100; env GREETING)\n"
                            "log: run.log (text)\n"
                            "3 children of 2 programs; no problem found\n");
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_FALSE(std::filesystem::exists(dir + "/run.log"));  // no output opened either
}

TEST(Check, NamesEveryProgramThatCannotStartAndExitsTwo) {
  const std::string config = test::temp_path("check_bad.toml");
  std::ofstream(config) << "[[program]]\nname = \"ghost\"\ncommand = [\"pipemux-ghost\"]\n"
                           "[[program]]\nname = \"lost\"\ncommand = \"echo\"\n"
                           "cwd = \"/nonexistent-pipemux-dir\"\n"
                           "[[program]]\nname = \"fine\"\ncommand = [\"echo\", \"a b\"]\n";
  const auto result = run_command({pipemux_exe(), "check", "-c", config});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.err,
            "pipemux: error: program 'ghost': cannot start 'pipemux-ghost': not found in PATH\n"
            "pipemux: error: program 'lost': cannot start '/bin/sh': cwd "
            "'/nonexistent-pipemux-dir': No such file or directory\n");
  EXPECT_NE(result.out.find("fine.0  echo 'a b'\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("3 children of 3 programs; 2 programs cannot start\n"),
            std::string::npos)
      << result.out;
  // A mistake in the file itself: the usage error a run would give, exit 2.
  std::ofstream(config) << "children = \"two\"\n";
  const auto broken = run_command({pipemux_exe(), "check", "-c", config});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_EQ(broken.out, "");
  EXPECT_NE(broken.err.find(config + ":1:"), std::string::npos) << broken.err;
}

// A run stops at the first mistake in its files; check names every one, with file:line:col,
// in the config, the Procfile and the .env beside it, syntax errors and wrong values alike.
TEST(Check, NamesEveryMistakeInEveryFileNotOnlyTheFirst) {
  const std::string dir = test::temp_path("check_every");
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/app.toml";
  std::ofstream(config) << "read_size = 0\n"                // 1: out of range
                           "children = \"many\"\n"          // 2: not an integer
                           "[[program]]\nname = \"web\"\n"  // 3, 4
                           "command = \"echo hi\"\n"        // 5
                           "stop_signal = \"SIGFOO\"\n"     // 6: no such signal
                           "colour = \"red\"\n"             // 7: unknown key
                           "[[program]]\nname = \"db\"\n"   // 8, 9
                           "command = [\"true\"]\n"         // 10
                           "stop_grace = -1\n";             // 11: negative
  const auto result = run_command({pipemux_exe(), "check", "-c", config});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  const std::string e = "pipemux: error: " + config;
  EXPECT_EQ(result.err, e + ":1:13: read_size: must be between 1 and 16777216 (got 0)\n" + e +
                            ":2:12: children: expected an integer, got string\n" + e +
                            ":6:15: program[0].stop_signal: not a signal: \"SIGFOO\"\n" + e +
                            ":7:1: program[0].colour: unknown key\n" + e +
                            ":11:14: program[1].stop_grace: must be between 0 and 3600 seconds "
                            "(got -1)\n");
  // What cannot be read on from: a TOML syntax error (said alone, as what follows it cannot be
  // read reliably), a value spanning lines, a table's header: no made-up mistake after them.
  std::ofstream(config) << "children = 2\nx = \nread_size = 0\n";
  EXPECT_EQ(run_command({pipemux_exe(), "check", "-c", config}).err,
            e + ":2:5: x: Error while parsing key-value pair: expected value, saw '\\n'\n");
  std::ofstream(config) << "restart = [\n  \"always\",\n]\nread_size = 0\n";
  EXPECT_EQ(run_command({pipemux_exe(), "check", "-c", config}).err,
            e + ":1:11: restart: expected a string, got array\n" + e +
                ":4:13: read_size: must be between 1 and 16777216 (got 0)\n");
  std::ofstream(config) << "[[program]]\nname = \"a\"\ncommand = \"true\"\n"
                           "[[program]]\nname = \"b\"\n"
                           "[[program]]\nname = \"c\"\ncommand = \"true\"\n";
  const auto header = run_command({pipemux_exe(), "check", "-c", config});
  ASSERT_EQ(test::lines_of(header.err).size(), 1U) << header.err;
  EXPECT_TRUE(header.err.starts_with(e + ":4:")) << header.err;
  std::ofstream(dir + "/Procfile") << "web: echo hi\nbad line\n: nothing\n";
  std::ofstream(dir + "/.env") << "GOOD=1\nBAD LINE\nALSO=\"unterminated\n";
  const auto procfile =
      run_command({"/bin/sh", "-c", "cd \"$1\" && exec \"$2\" check", "sh", dir, pipemux_exe()});
  EXPECT_EQ(procfile.exit_code, 2);
  const auto lines = test::lines_of(procfile.err);
  ASSERT_EQ(lines.size(), 4U) << procfile.err;
  EXPECT_TRUE(lines[0].starts_with("pipemux: error: Procfile:2:")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("pipemux: error: Procfile:3:")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("pipemux: error: .env:2:")) << lines[2];
  EXPECT_TRUE(lines[3].starts_with("pipemux: error: .env:3:")) << lines[3];
  // A run says the first alone, as before.
  const auto run = run_command({pipemux_exe(), "-c", config});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(test::lines_of(run.err).size(), 1U) << run.err;
}

}  // namespace
}  // namespace pipemux
