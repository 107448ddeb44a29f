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

}  // namespace
}  // namespace pipemux
