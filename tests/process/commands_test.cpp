// The two ways to give commands on the command line, end to end: shell command lines before
// `--` (each run by /bin/sh -c, as concurrently runs them) and one exact argv after it; their
// names; and a command line in the config.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "log_line.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using test::lines_of;
using test::pipemux_exe;
using test::run_command;

// Each child's lines of output ('|'), as "name.index" -> lines.
std::map<std::string, std::vector<std::string>> output_by_child(const std::string& log) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& line : lines_of(log)) {
    const auto m = test::parse_log_line(line);
    if (m && !m->index.empty() && m->mark == '|') out[m->label()].push_back(m->text);
  }
  return out;
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

// Each case: pipemux's arguments, and its one-line error; exit 2, nothing logged.
void expect_usage_errors(
    const std::vector<std::pair<std::vector<std::string>, std::string>>& cases) {
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = {pipemux_exe()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = run_command(argv);
    EXPECT_EQ(result.exit_code, 2) << message;
    EXPECT_EQ(result.out, "") << message;
    EXPECT_EQ(result.err, "pipemux: error: " + message + "\n");
  }
}

TEST(Commands, EachShellCommandLineIsOneProgramNamedAfterWhatItRuns) {
  // Two commands starting with "echo": the second is "echo-2". Pipes and quotes are the
  // shell's; each child sees its own name.
  const auto result = run_command({pipemux_exe(), "echo \"I am $PIPEMUX_CHILD_NAME\"",
                                   "echo 'web server' | tr a-z A-Z", "FOO=bar exec ./nowhere"});
  EXPECT_EQ(result.exit_code, 1) << result.err;  // ./nowhere: the shell says 127
  EXPECT_EQ(result.err, "");
  const auto by_child = output_by_child(result.out);
  EXPECT_EQ(by_child.at("echo.0"), std::vector<std::string>{"I am echo"});
  EXPECT_EQ(by_child.at("echo-2.0"), std::vector<std::string>{"WEB SERVER"});
  EXPECT_NE(result.out.find(" nowhere.0["), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("exited with code 127"), std::string::npos) << result.out;
}

TEST(Commands, NamesAndCountsApplyToShellCommandsThenTheExactOne) {
  // After --: one argv, no shell: 'x  y' stays one argument with its two spaces, and '$HOME'
  // is not expanded.
  const auto result = run_command({pipemux_exe(), "-n", "2", "--names", "api,worker",
                                   "echo \"api $PIPEMUX_CHILD_INSTANCE\"", "--", "printf",
                                   "%s|%s\\n", "x  y", "$HOME"});
  ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
  const auto by_child = output_by_child(result.out);
  const std::map<std::string, std::vector<std::string>> expected = {{"api.0", {"api 0"}},
                                                                    {"api.1", {"api 1"}},
                                                                    {"worker.0", {"x  y|$HOME"}},
                                                                    {"worker.1", {"x  y|$HOME"}}};
  EXPECT_EQ(by_child, expected) << result.out;
  // Fewer names than commands: the rest keep their own.
  const auto partial = run_command({pipemux_exe(), "--names", "first", "echo a", "echo b"});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_EQ(output_by_child(partial.out), (std::map<std::string, std::vector<std::string>>{
                                              {"first.0", {"a"}}, {"echo.0", {"b"}}}));
}

TEST(Commands, AnOptionAfterACommandSaysHowToGiveArguments) {
  const auto result = run_command({pipemux_exe(), "ls", "-la"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "pipemux: error: unknown option -la (after the command 'ls'): each COMMAND is one "
            "shell command line, so quote it: pipemux 'ls -la', or give one command with its "
            "arguments after --: pipemux -- ls -la (see pipemux --help)\n");
  // Without a command before it, an unknown option is just that.
  const auto plain = run_command({pipemux_exe(), "--frobnicate"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_EQ(plain.err.rfind("pipemux: error: The following argument", 0), 0u) << plain.err;
}

TEST(Commands, BadNamesAndAnEmptyCommandAreUsageErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--names", "a,b", "true"}, "--names: 2 names for 1 command"},
      {{"--names", "a"}, "--names: there is no COMMAND to name"},
      {{"--names", "a\tb", "true"},
       "--names: 'a\\tb' must be printable text, without control characters (bidirectional ones "
       "too) or backslashes"},
      {{"--"}, "nothing after --: give the command to run (see pipemux --help)"},
      {{"spam", "--count", "1", "--", "true"}, "spam takes no command (see pipemux spam --help)"},
  };
  expect_usage_errors(cases);
}

// `sh -c ''` runs nothing and exits 0: an empty command is a mistake, as it is in the config
// and in a Procfile.
TEST(Commands, AnEmptyOrBlankCommandIsAUsageError) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{""}, "COMMAND 1 ('') names no program to run"},
      {{"echo a", " \t\n"}, "COMMAND 2 (' \\t\\n') names no program to run"},
      {{"echo a", "--", ""}, "the command after -- ('') names no program to run"},
  };
  expect_usage_errors(cases);
}

TEST(Commands, AConfigCommandMayBeAShellLineOrAnArgv) {
  const auto config = write_file("pipemux_command_forms.toml",
                                 "[[program]]\nname = \"line\"\n"
                                 "command = \"echo hello from $PIPEMUX_CHILD_NAME | tr a-z A-Z\"\n"
                                 "[[program]]\nname = \"argv\"\n"
                                 "command = [\"echo\", \"$PIPEMUX_CHILD_NAME | tr\"]\n");
  const auto result = run_command({pipemux_exe(), "-c", config});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(output_by_child(result.out),
            (std::map<std::string, std::vector<std::string>>{
                {"line.0", {"HELLO FROM LINE"}}, {"argv.0", {"$PIPEMUX_CHILD_NAME | tr"}}}));
  for (const auto& [value, problem] : std::vector<std::pair<std::string, std::string>>{
           {"3",
            "7:11: program[0].command: expected a string (a shell command line) or an array of "
            "strings (an argv), got integer"},
           {"\"  \"", "7:11: program[0].command: must name a program to run"}}) {
    const auto bad = write_file("pipemux_command_bad.toml",
                                "# a command must say what to run\n\n\n\n[[program]]\nname = "
                                "\"x\"\ncommand = " +
                                    value + "\n");
    const auto failed = run_command({pipemux_exe(), "-c", bad});
    EXPECT_EQ(failed.exit_code, 2);
    EXPECT_EQ(failed.err, fmt::format("pipemux: error: {}:{}\n", bad, problem));
  }
}

// A Procfile of three programs, as honcho runs them: names from the file, counts from the
// formation (the others one each), the subset from --only/--except.
TEST(Commands, AProcfileRunsItsProgramsWithTheFormationAndSubset) {
  const std::string procfile = write_file("Procfile.commands",
                                          "# three programs\n"
                                          "web: echo \"web $PIPEMUX_CHILD_INSTANCE\"\n"
                                          "worker: echo \"worker $PIPEMUX_CHILD_INSTANCE\" >&2\n"
                                          "\n"
                                          "clock: echo tick\n");
  using by_child = std::map<std::string, std::vector<std::string>>;
  const auto run = [&](std::vector<std::string> flags) {
    // All run to their end (with a Procfile the first exit would stop the others).
    flags.insert(flags.begin(), {pipemux_exe(), "-f", procfile, "--stop-on", "never"});
    const auto result = run_command(flags);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.err, "");
    return output_by_child(result.out);
  };
  EXPECT_EQ(run({"-m", "web=2,worker=3"}), (by_child{{"web.0", {"web 0"}},
                                                     {"web.1", {"web 1"}},
                                                     {"worker.0", {"worker 0"}},
                                                     {"worker.1", {"worker 1"}},
                                                     {"worker.2", {"worker 2"}},
                                                     {"clock.0", {"tick"}}}));
  EXPECT_EQ(run({"--only", "clock,web"}), (by_child{{"web.0", {"web 0"}}, {"clock.0", {"tick"}}}));
  EXPECT_EQ(run({"--except", "web", "-n", "2"}), (by_child{{"worker.0", {"worker 0"}},
                                                           {"worker.1", {"worker 1"}},
                                                           {"clock.0", {"tick"}},
                                                           {"clock.1", {"tick"}}}));
  EXPECT_EQ(run({"--formation", "web=0,clock=1"}),
            (by_child{{"worker.0", {"worker 0"}}, {"clock.0", {"tick"}}}));
}

TEST(Commands, ProcfileAndSelectionMistakesAreOneLineExitTwo) {
  const std::string procfile =
      write_file("Procfile.mistakes", "web: echo web\nworker: echo worker\n");
  const std::string bad = write_file("Procfile.bad", "web: echo web\nworker echo worker\n");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-f", procfile, "--only", "wbe"},
       "--only: no program named 'wbe' (the programs: web, worker)"},
      {{"-f", procfile, "--except", "web,nope"},
       "--except: no program named 'nope' (the programs: web, worker)"},
      {{"-f", procfile, "-m", "web=x"},
       "--formation: web must be a count from 0 to 4096 (got 'x')"},
      {{"-f", procfile, "-m", "web=5000"},
       "--formation: web must be a count from 0 to 4096 (got '5000')"},
      {{"-f", procfile, "-m", "web"}, "--formation: expected NAME=COUNT, got 'web'"},
      {{"-f", procfile, "-m", "db=1"},
       "--formation: no program named 'db' (the programs: web, worker)"},
      {{"-f", procfile, "-m", "web=0,worker=0"},
       "nothing left to run after --formation, --only and --except"},
      {{"-f", procfile, "--only", "web", "--except", "worker"},
       "--only and --except: give one or the other"},
      {{"-f", procfile, "echo hi"}, "--procfile and COMMANDs: give one or the other"},
      {{"-f", bad},
       bad + ":2:7: expected ':' after the name worker (a name is letters, digits, '_' and '-')"},
      {{"-f", procfile + ".missing"},
       procfile + ".missing: cannot read: No such file or directory"},
      {{"--only", "web"},
       "--formation, --only and --except choose among programs: give a --procfile, COMMANDs or a "
       "config with [[program]]"},
  };
  expect_usage_errors(cases);
}

// Variables from .env files reach the children: the one beside a Procfile by default, else
// those given with --env-file, in order, a later one using an earlier one's; a program's own
// `env` wins over them. (PORT is not used: with a Procfile it is the base of each child's PORT,
// see procfile_habits_test.cpp.)
TEST(Commands, EnvFilesSetVariablesInEveryChild) {
  const std::string dir = test::temp_path("envdir");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/Procfile") << "web: echo \"$GREETING on $PLACE\"\n";
  std::ofstream(dir + "/.env") << "# beside the Procfile\nGREETING=\"hello world\"\nPLACE=5000\n";
  std::ofstream(dir + "/first.env") << "export GREETING='hi $PLACE'\n";
  std::ofstream(dir + "/second.env") << "PLACE=${GREETING}!  # uses the first file's\n";
  using by_child = std::map<std::string, std::vector<std::string>>;
  const auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), pipemux_exe());
    const auto result = run_command(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return output_by_child(result.out);
  };
  EXPECT_EQ(run({"-f", dir + "/Procfile"}), (by_child{{"web.0", {"hello world on 5000"}}}));
  EXPECT_EQ(
      run({"-f", dir + "/Procfile", "-e", dir + "/first.env", "--env-file", dir + "/second.env"}),
      (by_child{{"web.0", {"hi $PLACE on hi $PLACE!"}}}));
  EXPECT_EQ(run({"--env-file", dir + "/.env", "echo \"$GREETING\""}),
            (by_child{{"echo.0", {"hello world"}}}));
  const auto config = write_file("pipemux_env_over_file.toml",
                                 "[[program]]\nname = \"own\"\ncommand = \"echo $PORT\"\n"
                                 "env = { PORT = \"80\" }\n");
  EXPECT_EQ(run({"-c", config, "-e", dir + "/.env"}), (by_child{{"own.0", {"80"}}}));
  const std::string bad = write_file("bad.env", "A=1\nB=\"x\" junk\n");
  const auto failed = run_command({pipemux_exe(), "-e", bad, "true"});
  EXPECT_EQ(failed.exit_code, 2);
  EXPECT_EQ(failed.err,
            "pipemux: error: " + bad + ":2:7: expected a line end after the value, got 'j'\n");
}

}  // namespace
}  // namespace pipemux
