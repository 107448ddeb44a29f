// Bad input, end to end: each mistake is one clear line naming what was wrong, with a
// documented exit code, and never a forged or garbled log line.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::pipemux_exe;
using test::run_command;

// Every line of a log starts with its time: nothing a name holds may start a new one.
const std::regex log_line(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} .*)");

std::string make_dir(const std::string& name) {
  std::string dir = test::temp_path(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write_executable(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), 0755);
}

TEST(BadInput, AProgramNameWithANewlineOrAnEscapeCannotForgeALogLine) {
  // A real program whose file name holds a newline, an ESC and "] out | FORGED".
  const std::string dir = make_dir("names");
  const std::string name = "ech\no\x1b[31m] out | FORGED";
  std::filesystem::create_symlink("/bin/echo", dir + "/" + name);
  const auto result = run_command({pipemux_exe(), "--", dir + "/" + name, "hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto lines = lines_of(result.out);
  EXPECT_EQ(lines.size(), 4u) << "started, hello, exited, summary: " << result.out;
  for (const auto& line : lines)
    EXPECT_TRUE(std::regex_match(line, log_line)) << "forged or garbled: " << line;
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << "ESC reached the output raw";
  EXPECT_NE(result.out.find("ech\\no\\x1b[31m] out | FORGED.0["), std::string::npos) << result.out;
  EXPECT_NE(result.out.find(" out | hello\n"), std::string::npos) << result.out;
}

// A program named "gpj<RIGHT-TO-LEFT OVERRIDE>exe.sh" shows on a terminal as "gpjhs.exe":
// wherever pipemux prints a name (log labels, JSON, error lines), its bidirectional controls
// are escaped.
TEST(BadInput, ABidirectionalControlInANameReachesNeitherTheLogNorAnErrorRaw) {
  const std::string dir = make_dir("bidi");
  const std::string name = "gpj\u202eexe.sh";
  const std::string shown = "gpj\\xe2\\x80\\xaeexe.sh";
  std::filesystem::create_symlink("/bin/echo", dir + "/" + name);
  const auto text = run_command({pipemux_exe(), "--", dir + "/" + name, "from the child"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(shown + ".0["), std::string::npos) << text.out;
  for (const auto& line : lines_of(text.out))  // the label: up to the pid's '['
    EXPECT_EQ(line.substr(0, line.find('[')).find("\u202e"), std::string::npos) << line;
  const auto json = run_command({pipemux_exe(), "--format", "json", "--", dir + "/" + name});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"name\":\"gpj\\u202eexe.sh\""), std::string::npos) << json.out;
  EXPECT_EQ(json.out.find("\"name\":\"" + name), std::string::npos) << json.out;
  const auto unknown = run_command({pipemux_exe(), "--only", "x", "--", dir + "/" + name});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err,
            "pipemux: error: --only: no program named 'x' (the programs: " + shown + ")\n");
  const auto named = run_command({pipemux_exe(), "--names", name, "true"});
  EXPECT_EQ(named.exit_code, 2);
  EXPECT_EQ(named.err, "pipemux: error: --names: '" + shown +
                           "' must be printable text, without control characters (bidirectional "
                           "ones too) or backslashes\n");
}

TEST(BadInput, AMissingOrNonDirectoryCwdIsNamedAsTheCwd) {
  const std::string dir = make_dir("cwd");
  std::ofstream(dir + "/file") << "x";
  std::ofstream(dir + "/c.toml") << "[[program]]\nname = \"gone\"\ncommand = [\"pwd\"]\ncwd = \""
                                 << dir << "/nope\"\n"
                                 << "[[program]]\nname = \"file\"\ncommand = [\"pwd\"]\ncwd = \""
                                 << dir << "/file\"\n";
  const auto result = run_command({pipemux_exe(), "-c", dir + "/c.toml"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(
      result.out.find("* cannot start 'pwd': cwd '" + dir + "/nope': No such file or directory"),
      std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("* cannot start 'pwd': cwd '" + dir + "/file': not a directory"),
            std::string::npos)
      << result.out;
}

TEST(BadInput, ARelativeCommandRunsFromTheProgramsCwdAndAScriptWithoutShebangRunsWithSh) {
  // "./run" is found in the program's cwd, as `cd DIR && ./run` would; it has no "#!" line, so
  // /bin/sh runs it, as execvp does (no "Exec format error").
  const std::string dir = make_dir("relative");
  write_executable(dir + "/run", "echo \"running in $(pwd)\"\n");
  std::ofstream(dir + "/c.toml") << "[[program]]\nname = \"rel\"\ncommand = [\"./run\"]\ncwd = \""
                                 << dir << "\"\n";
  const auto result = run_command({pipemux_exe(), "-c", dir + "/c.toml"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("out | running in " + dir + "\n"), std::string::npos) << result.out;
}

TEST(BadInput, AMissingInterpreterIsNamed) {
  const std::string dir = make_dir("interpreter");
  write_executable(dir + "/tool", "#!/usr/bin/pipemux-no-such-interpreter -x\necho hi\n");
  const auto result = run_command({pipemux_exe(), "--", dir + "/tool"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.out.find("* cannot start '" + dir +
                            "/tool': its interpreter '/usr/bin/pipemux-no-such-interpreter' (on "
                            "its #! line): no such file"),
            std::string::npos)
      << result.out;
}

TEST(BadInput, AClosedStdoutIsOneClearErrorExitTwo) {
  const auto result =
      run_command({"/bin/sh", "-c", "'" + pipemux_exe() + "' -- echo hi >&-; echo \"status=$?\""});
  EXPECT_EQ(result.out, "status=2\n");
  EXPECT_EQ(result.err,
            "pipemux: error: standard output is closed: give -o FILE for the log (or >/dev/null "
            "to discard it)\n");
}

TEST(BadInput, AnOutputThatCannotBeOpenedNamesWhereItWasSet) {
  const std::string dir = make_dir("output");
  std::ofstream(dir + "/c.toml") << "[log]\noutput = \"" << dir << "/no/such/dir/x.log\"\n";
  const auto from_file = run_command({pipemux_exe(), "-c", dir + "/c.toml"});
  EXPECT_EQ(from_file.exit_code, 2);
  EXPECT_EQ(from_file.err, "pipemux: error: " + dir +
                               "/c.toml:2:10: log.output: cannot open output '" + dir +
                               "/no/such/dir/x.log': No such file or directory\n");
  const auto from_flag = run_command({pipemux_exe(), "-o", dir, "--", "true"});
  EXPECT_EQ(from_flag.exit_code, 2);
  EXPECT_EQ(from_flag.err,
            "pipemux: error: --output: cannot open output '" + dir + "': Is a directory\n");
}

TEST(BadInput, ACrashingConfigIsACleanErrorAndAnEndlessOneIsBounded) {
  const std::string dir = make_dir("config");
  std::string key = "a";
  for (int i = 0; i < 50000; ++i) key += ".a";
  std::ofstream(dir + "/deep.toml") << key << " = 1\n";
  const auto deep = run_command({pipemux_exe(), "-c", dir + "/deep.toml"});
  EXPECT_EQ(deep.exit_code, 2) << "signal " << deep.signal;
  EXPECT_EQ(deep.err, "pipemux: error: " + dir +
                          "/deep.toml:1:130: more than 64 dots in keys on one line: tables nest "
                          "too deep\n");
  const auto endless = run_command({pipemux_exe(), "-c", "/dev/zero"}, {.timeout = 20s});
  EXPECT_FALSE(endless.timed_out);
  EXPECT_EQ(endless.exit_code, 2);
  EXPECT_EQ(endless.err, "pipemux: error: /dev/zero: larger than 1 MiB: not a pipemux config\n");
}

// Runs `pipemux -n 100` under a resource limit (a bash `ulimit` line) with children that stay
// until stopped: those that cannot be started are spawn failures, the others run, and every
// child has its summary. SIGTERM comes once all 100 were tried.
void expect_partial_start(const std::string& limit, const std::string& flags,
                          const std::string& reason) {
  const std::string marker = test::unique("pipemux-test-partial-start");
  const auto tried = [](const std::string& out) {
    std::size_t n = 0;
    for (const auto& line : lines_of(out))
      n += line.find("* started: ") != std::string::npos ||
           line.find("* cannot start ") != std::string::npos;
    return n;
  };
  const auto result = run_command(
      {"/bin/bash", "-c",
       limit + " && exec '" + pipemux_exe() + "' -n 100 " + flags +
           " -- sh -c 'echo hi; exec sleep 60' " + marker},
      test::signal_when(SIGTERM, [&](const std::string& out) { return tried(out) == 100; }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_EQ(result.err, "");
  std::size_t started = 0, failed = 0, not_started = 0;
  for (const auto& line : lines_of(result.out)) {
    started += line.find("* started: ") != std::string::npos;
    // The reason may come with the step that failed ("cannot create a pipe: ...").
    failed +=
        line.find("* cannot start 'sh': ") != std::string::npos && line.ends_with(": " + reason);
    not_started += line.find("* summary: 0 messages, 0 bytes, not started") != std::string::npos;
  }
  EXPECT_GT(started, 0u);
  EXPECT_GT(failed, 0u) << result.out;
  EXPECT_EQ(started + failed, 100u) << result.out;
  EXPECT_EQ(not_started, failed) << "each failure has its summary";
  EXPECT_TRUE(test::none_left(marker));
}

TEST(BadInput, RunningOutOfDescriptorsMidStartFailsOnlyTheChildrenConcerned) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Their runtimes need descriptors too (UBSan's vptr check opens a pipe to probe memory).
  GTEST_SKIP() << "sanitizer runtimes misreport when out of descriptors";
#endif
  // Each child holds three descriptors (two pipes' read ends and a pidfd) and needs a few more
  // while it starts: three limits in a row make each step the one that runs out, whatever
  // number of descriptors the test process itself inherited.
  for (const int limit : {64, 65, 66}) {
    SCOPED_TRACE("ulimit -n " + std::to_string(limit));
    expect_partial_start("ulimit -n " + std::to_string(limit), "", "Too many open files");
  }
}

TEST(BadInput, BuffersTheAddressSpaceLimitCannotHoldAreRefusedUpFront) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers reserve more address space than the limit allows";
#endif
  // 100 children with 16 MiB reads under `ulimit -v 2000000` (2 GB): their read buffers alone
  // do not fit. Said before anything starts, naming the limit and what needs the room.
  const auto reads =
      run_command({"/bin/bash", "-c",
                   "ulimit -v 2000000 && exec '" + pipemux_exe() + "' -n 100 -r 16777216 -- true"});
  EXPECT_EQ(reads.exit_code, 6) << reads.err;
  EXPECT_EQ(reads.out, "") << "nothing may start";
  EXPECT_TRUE(std::regex_match(
      reads.err, std::regex(R"(pipemux: error: the address-space limit \(ulimit -v\) is 2048 MB )"
                            R"(and \d+ MB are in use: 200 pipes read 16777216 bytes at a time, .*)"
                            R"(raise the limit\n)")))
      << reads.err;
  // A 50 MB line with --max-line 16777216 under 60 MB: it stopped the run in silence, exit 0.
  const auto line =
      run_command({"prlimit", "--as=60000000", pipemux_exe(), "--max-line", "16777216", "--", "sh",
                   "-c", "head -c 50000000 /dev/zero | tr '\\0' x; echo"});
  EXPECT_EQ(line.exit_code, 6) << line.err;
  EXPECT_EQ(line.out, "");
  EXPECT_TRUE(std::regex_match(line.err, std::regex(R"(pipemux: error: the address-space limit )"
                                                    R"(.* lines up to max_line 16777216 .*\n)")))
      << line.err;
  // Four children each joining such a line at once need a max_line each: counted up front too
  // (under 128 MiB the check passed, and logging ran out of memory mid-run).
  const auto four = run_command({"prlimit", "--as=134217728", pipemux_exe(), "--max-line",
                                 "16777216", "-n", "4", "--", "true"});
  EXPECT_EQ(four.exit_code, 6) << four.err;
  EXPECT_EQ(four.out, "");
  EXPECT_TRUE(four.err.find("8 pipes read 65536 bytes at a time") != std::string::npos) << four.err;
  // Within the limit, the same line is logged in pieces of max_line.
  const auto fits =
      run_command({"prlimit", "--as=200000000", pipemux_exe(), "--max-line", "16777216", "--", "sh",
                   "-c", "head -c 50000000 /dev/zero | tr '\\0' x; echo"});
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
  std::size_t logged = 0, pieces = 0;  // "out + " marks a piece of a longer line
  for (const auto& l : lines_of(fits.out)) {
    const auto piece = l.find(" out + "), last = l.find(" out | ");
    pieces += piece != std::string::npos;
    if (const auto at = std::min(piece, last); at != std::string::npos) logged += l.size() - at - 7;
  }
  EXPECT_EQ(logged, 50000000u) << fits.err;
  EXPECT_EQ(pieces, 50000000u / 16777216u) << fits.err;
}

TEST(BadInput, TooFewDescriptorsOrTooLittleMemoryToStartIsOneLineExitSix) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer runtimes need descriptors and address space of their own";
#endif
  // pipemux's own failure, not a child's (exit 1 before, with "epoll: ..." or std::bad_alloc).
  bool refused_for_descriptors = false;
  for (int limit = 4; limit <= 16; ++limit) {
    SCOPED_TRACE("ulimit -n " + std::to_string(limit));
    const auto result = run_command(
        {"/bin/bash", "-c",
         "ulimit -n " + std::to_string(limit) + " && exec '" + pipemux_exe() + "' -- echo hi"});
    // Enough after all, a child that could not start (3), or too few for the dynamic loader
    // (127, its own message): how many descriptors the test process passes on varies (ctest
    // holds some open).
    if (result.exit_code == 0 || result.exit_code == 127 || result.exit_code == 3) continue;
    refused_for_descriptors = true;
    EXPECT_EQ(result.exit_code, 6) << result.err;
    EXPECT_TRUE(std::regex_match(
        result.err, std::regex("pipemux: error: out of file descriptors \\(the limit is " +
                               std::to_string(limit) + ": ulimit -n\\)(: .*)?\n")))
        << result.err;
  }
  EXPECT_TRUE(refused_for_descriptors) << "no limit made pipemux itself run out of descriptors";
  bool refused_for_memory = false;
  for (int megabytes = 8; megabytes <= 40; megabytes += 2) {
    SCOPED_TRACE("prlimit --as " + std::to_string(megabytes) + " MB");
    const auto result = run_command(
        {"prlimit", "--as=" + std::to_string(megabytes * 1000000), pipemux_exe(), "--", "true"});
    // Too little for the dynamic loader is the loader's to say (127), and too little for the
    // C++ runtime's start (CLI11's static validators, before main) ends in std::terminate:
    // nothing of ours has run yet. Too little for the run is ours, in one line; a child that
    // cannot start is 3.
    const bool before_main =
        result.signal == SIGABRT && result.err.starts_with("terminate called without an active");
    if (before_main || result.exit_code == 127 || result.exit_code == 0 || result.exit_code == 3)
      continue;
    EXPECT_EQ(result.exit_code, 6) << result.err;
    // Out of it while starting, or known to be short before.
    EXPECT_TRUE(std::regex_match(
        result.err, std::regex("pipemux: error: (out of memory \\(the address-space limit is "
                               "\\d+ MB: ulimit -v\\)(: .*)?|the address-space limit \\(ulimit "
                               "-v\\) is \\d+ MB and .*)\n")))
        << result.err;
    refused_for_memory = true;
  }
  EXPECT_TRUE(refused_for_memory) << "no limit made pipemux itself run out of memory";
}

}  // namespace
}  // namespace pipemux
