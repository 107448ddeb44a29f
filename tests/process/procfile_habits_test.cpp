// foreman's and honcho's habits, through the real binary and real children: a plain `pipemux`
// runs ./Procfile (with the .env beside it), each program's children are numbered on their
// own, every child gets its PORT, and one process ending stops the rest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "log_line.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using test::lines_of;
using test::pipemux_exe;
using test::run_command;
using by_child = std::map<std::string, std::vector<std::string>>;

by_child output_by_child(const std::string& log) {
  by_child out;
  for (const auto& line : lines_of(log)) {
    const auto m = test::parse_log_line(line);
    if (m && !m->index.empty() && m->mark == '|') out[m->label()].push_back(m->text);
  }
  return out;
}

// A directory of this test's own holding `files` (name -> text).
std::string directory_with(const std::string& name, const by_child::key_type& procfile,
                           const std::string& env_file = {}) {
  std::string dir = test::temp_path(name);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/Procfile") << procfile;
  if (!env_file.empty()) std::ofstream(dir + "/.env") << env_file;
  return dir;
}

// pipemux run from `dir` with `args`, without a PORT of the test's environment (`env` sets one).
test::command_result pipemux_in(const std::string& dir, const std::vector<std::string>& args,
                                const std::string& env = {}) {
  std::vector<std::string> argv = {"/bin/sh", "-c",  "cd \"$1\" && shift && exec \"$@\"",
                                   "sh",      dir,   "/usr/bin/env",
                                   "-u",      "PORT"};
  if (!env.empty()) argv.push_back(env);
  argv.push_back(pipemux_exe());
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

TEST(ProcfileHabits, APlainPipemuxRunsTheProcfileOfItsDirectoryWithItsDotEnv) {
  const std::string dir = directory_with("habits_plain",
                                         "web: echo \"web $PORT $GREETING\"\n"
                                         "worker: echo \"worker $PORT $GREETING\"\n",
                                         "GREETING=hello\n");
  const auto result = pipemux_in(dir, {"--stop-on", "never", "-m", "web=2,worker=2"});
  EXPECT_EQ(result.exit_code, 0) << result.err << result.out;
  EXPECT_EQ(result.err, "");
  // Each program numbered from 0 on its own; PORT 5000 + 100 per program + 1 per child.
  EXPECT_EQ(output_by_child(result.out), (by_child{{"web.0", {"web 5000 hello"}},
                                                   {"web.1", {"web 5001 hello"}},
                                                   {"worker.0", {"worker 5100 hello"}},
                                                   {"worker.1", {"worker 5101 hello"}}}))
      << result.out;
}

TEST(ProcfileHabits, AConfigFileOrACommandIsRunInsteadOfTheProcfileBesideIt) {
  const std::string dir = directory_with("habits_other", "web: echo from the procfile\n");
  std::ofstream(dir + "/run.toml") << "[[program]]\nname = \"conf\"\ncommand = \"echo $PORT\"\n";
  const auto configured = pipemux_in(dir, {"-c", "run.toml"});
  EXPECT_EQ(configured.exit_code, 0) << configured.err;
  EXPECT_EQ(output_by_child(configured.out), (by_child{{"conf.0", {""}}})) << configured.out;
  const auto commanded = pipemux_in(dir, {"echo given"});
  EXPECT_EQ(commanded.exit_code, 0) << commanded.err;
  EXPECT_EQ(output_by_child(commanded.out), (by_child{{"echo.0", {"given"}}})) << commanded.out;
}

TEST(ProcfileHabits, WithoutAProcfileOrAConfigTheSpamDemoRuns) {
  const std::string dir = test::temp_path("habits_none");
  std::filesystem::create_directories(dir);
  const auto result = run_command(
      {"/bin/sh", "-c", "cd \"$1\" && exec \"$2\" --stop-grace 1", "sh", dir, pipemux_exe()},
      test::signal_when(SIGINT, [](const std::string& out) {
        return out.find("out | Spam 0\n") != std::string::npos;
      }));
  EXPECT_EQ(result.exit_code, 130) << result.out << result.err;
  EXPECT_NE(result.out.find(" spam.0["), std::string::npos) << result.out;
}

TEST(ProcfileHabits, OneProcessEndingStopsTheOthersUnlessStopOnSaysOtherwise) {
  const std::string dir = directory_with("habits_stop",
                                         "quick: echo done\n"
                                         "slow: sleep 1.5; echo late\n");
  const auto stopped = pipemux_in(dir, {});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  EXPECT_EQ(output_by_child(stopped.out), (by_child{{"quick.0", {"done"}}})) << stopped.out;
  EXPECT_NE(stopped.out.find("quick.0["), std::string::npos);
  EXPECT_NE(stopped.out.find("* exited with code 0: stopping the other children"),
            std::string::npos)
      << stopped.out;
  EXPECT_NE(stopped.out.find("killed by SIGTERM"), std::string::npos) << stopped.out;

  const auto all_run = pipemux_in(dir, {"--stop-on", "never"});
  EXPECT_EQ(all_run.exit_code, 0) << all_run.out << all_run.err;
  EXPECT_EQ(output_by_child(all_run.out), (by_child{{"quick.0", {"done"}}, {"slow.0", {"late"}}}))
      << all_run.out;
}

TEST(ProcfileHabits, ThePortBaseComesFromTheFlagTheEnvFileOrTheEnvironment) {
  const std::string dir = directory_with("habits_port", "a: echo \"$PORT\"\nb: echo \"$PORT\"\n");
  const auto ports = [&](const std::vector<std::string>& args, const std::string& env) {
    const auto result = pipemux_in(dir, args, env);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return output_by_child(result.out);
  };
  const std::vector<std::string> never = {"--stop-on", "never"};
  EXPECT_EQ(ports(never, "PORT=7000"), (by_child{{"a.0", {"7000"}}, {"b.0", {"7100"}}}));
  EXPECT_EQ(ports({"--stop-on", "never", "--port", "3000"}, "PORT=7000"),
            (by_child{{"a.0", {"3000"}}, {"b.0", {"3100"}}}));
  // Procfile order decides, whichever programs run.
  EXPECT_EQ(ports({"--only", "b"}, ""), (by_child{{"b.0", {"5100"}}}));
  std::ofstream(dir + "/.env") << "PORT=4000\n";
  EXPECT_EQ(ports(never, "PORT=7000"), (by_child{{"a.0", {"4000"}}, {"b.0", {"4100"}}}));
}

TEST(ProcfileHabits, PortIsGivenWithDashDashPortAndLeftToAProgramThatSetsItsOwn) {
  const std::string dir = test::temp_path("habits_own_port");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/run.toml") << "[[program]]\nname = \"own\"\ncommand = \"echo $PORT\"\n"
                                      "env = { PORT = \"8080\" }\n"
                                      "[[program]]\nname = \"given\"\ncommand = \"echo $PORT\"\n"
                                      "instances = 2\n";
  const auto result = pipemux_in(dir, {"-c", "run.toml", "--port", "6000"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(output_by_child(result.out),
            (by_child{{"own.0", {"8080"}}, {"given.0", {"6100"}}, {"given.1", {"6101"}}}))
      << result.out;
  // Without --port and without a Procfile, no PORT is set.
  const auto none = pipemux_in(dir, {"-c", "run.toml"});
  EXPECT_EQ(output_by_child(none.out),
            (by_child{{"own.0", {"8080"}}, {"given.0", {""}}, {"given.1", {""}}}))
      << none.out;
}

TEST(ProcfileHabits, ABadPortIsAUsageErrorNamingWhere) {
  const std::string dir = directory_with("habits_bad_port", "a: echo hi\n", "PORT=abc\n");
  const auto from_file = pipemux_in(dir, {});
  EXPECT_EQ(from_file.exit_code, 2);
  EXPECT_EQ(from_file.out, "");
  EXPECT_EQ(from_file.err,
            "pipemux: error: PORT=abc in an env file: not a port number (1-65535)\n");
  const auto past_the_end = pipemux_in(dir, {"--port", "65535", "-e", "/dev/null", "-n", "2"});
  EXPECT_EQ(past_the_end.exit_code, 2);
  EXPECT_EQ(past_the_end.err,
            "pipemux: error: PORT: program 'a' would get ports 65535 to 65536, past 65535\n");
}

}  // namespace
}  // namespace pipemux
