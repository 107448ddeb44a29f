// What pipemux shows on a terminal and elsewhere: colours (the flag, NO_COLOR, FORCE_COLOR,
// CLICOLOR_FORCE, TERM=dumb, a real pseudo-terminal from script(1)), a child's own colours
// kept, stripped or escaped, and the time column.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>

#include "run_command.hpp"

namespace pipemux {
namespace {
using test::lines_of;
using test::pipemux_exe;
using test::run_command;

constexpr const char* esc = "\x1b";

// The colour variables cleared, so that the suite's own environment decides nothing.
std::vector<std::string> with_env(std::vector<std::string> settings,
                                  const std::vector<std::string>& argv) {
  std::vector<std::string> out{"env",         "-u", "NO_COLOR",      "-u",
                               "FORCE_COLOR", "-u", "CLICOLOR_FORCE"};
  if (std::find_if(settings.begin(), settings.end(),
                   [](const std::string& s) { return s.rfind("TERM=", 0) == 0; }) == settings.end())
    settings.emplace_back("TERM=xterm-256color");
  out.insert(out.end(), settings.begin(), settings.end());
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string shell_quoted(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    line += line.empty() ? "'" : " '";
    for (char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += "'";
  }
  return line;
}

// `argv` with a real terminal as its stdout: script(1) runs it on a new pseudo-terminal and
// copies what it writes there to our pipe (with the terminal's "\r\n" line ends).
test::command_result on_terminal(const std::vector<std::string>& argv) {
  auto result = run_command({"script", "-qefc", shell_quoted(argv), "/dev/null"});
  std::string out;
  for (std::size_t i = 0; i < result.out.size(); ++i)
    if (!(result.out[i] == '\r' && i + 1 < result.out.size() && result.out[i + 1] == '\n'))
      out += result.out[i];
  result.out = out;
  return result;
}

std::vector<std::string> one_child(std::vector<std::string> flags = {}) {
  std::vector<std::string> argv{pipemux_exe()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--names", "web", "echo up; echo oops >&2"});
  return argv;
}

bool coloured(const std::string& out) {
  return out.find(std::string(esc) + "[36mweb.0" + esc + "[0m[") != std::string::npos &&
         out.find(std::string(esc) + "[31merr" + esc + "[0m | oops\n") != std::string::npos;
}
bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
bool plain(const std::string& out) {
  return out.find(esc) == std::string::npos && out.find(" web.0[") != std::string::npos &&
         out.find(" err | oops\n") != std::string::npos;
}

TEST(Terminal, ColoursOnATerminalUnlessNoColorTermDumbOrNever) {
  const auto tty = on_terminal(with_env({}, one_child()));
  EXPECT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_TRUE(coloured(tty.out)) << tty.out;
  for (const auto& [settings, flags] :
       std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {{"NO_COLOR=1"}, {}}, {{"TERM=dumb"}, {}}, {{"FORCE_COLOR=1"}, {"--color", "never"}}}) {
    const auto result = on_terminal(with_env(settings, one_child(flags)));
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_TRUE(plain(result.out)) << settings.front() << "\n" << result.out;
  }
  // NO_COLOR set but empty turns nothing off (no-color.org).
  EXPECT_TRUE(coloured(on_terminal(with_env({"NO_COLOR="}, one_child())).out));
}

TEST(Terminal, PipedOrToAFileColouredOnlyWhenForced) {
  EXPECT_TRUE(plain(run_command(with_env({}, one_child())).out));
  EXPECT_TRUE(coloured(run_command(with_env({"FORCE_COLOR=1"}, one_child())).out));
  EXPECT_TRUE(coloured(run_command(with_env({"CLICOLOR_FORCE=1"}, one_child())).out));
  EXPECT_TRUE(plain(run_command(with_env({"FORCE_COLOR=0"}, one_child())).out));
  EXPECT_TRUE(plain(run_command(with_env({"NO_COLOR=1", "FORCE_COLOR=1"}, one_child())).out));
  EXPECT_TRUE(
      coloured(run_command(with_env({"NO_COLOR=1"}, one_child({"--color", "always"}))).out));
  // A file given with -o is coloured only when asked for outright.
  const std::string file = test::temp_path("coloured.log");
  const auto read = [&file] {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(file.c_str());
    return text;
  };
  EXPECT_EQ(run_command(with_env({"FORCE_COLOR=1"}, one_child({"-o", file}))).exit_code, 0);
  EXPECT_TRUE(plain(read()));
  run_command(with_env({}, one_child({"-o", file, "--color", "always"})));
  EXPECT_TRUE(coloured(read()));
}

TEST(Terminal, AChildsColoursAreKeptWhenColouringAndOtherControlsStayEscaped) {
  const std::string child = R"(printf '\033[32mgreen\033[0m \a \033]0;title\a\n')";
  const auto run = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv{pipemux_exe()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(child);
    return run_command(with_env({}, argv)).out;
  };
  const std::string green = std::string(esc) + "[32mgreen" + esc + "[0m";
  const std::string escaped_rest = " \\x07 \\x1b]0;title\\x07\n";
  // Not coloured: escaped, so the log gives back every byte.
  EXPECT_NE(run({}).find("out | \\x1b[32mgreen\\x1b[0m" + escaped_rest), std::string::npos);
  // Coloured (a terminal, or forced): the child's colours pass, nothing else does.
  EXPECT_NE(run({"--color", "always"}).find("| " + green + escaped_rest), std::string::npos);
  EXPECT_NE(on_terminal(with_env({}, {pipemux_exe(), child})).out.find("| " + green + escaped_rest),
            std::string::npos);
  EXPECT_NE(run({"--color", "always", "--ansi", "strip"}).find("| green" + escaped_rest),
            std::string::npos);
  EXPECT_NE(run({"--ansi", "keep"}).find("out | " + green + escaped_rest), std::string::npos);
  EXPECT_NE(run({"--color", "always", "--ansi", "escape"})
                .find("| \\x1b[32mgreen\\x1b[0m" + escaped_rest),
            std::string::npos);
}

// Colour off on purpose (NO_COLOR, --color never): a child's colours are removed, not shown as
// escapes; only an output whose colour was left to "auto" (a file, a pipe) escapes them.
TEST(Terminal, ColourTurnedOffStripsAChildsColoursAndEraseToTheEndOfTheLineIsKept) {
  const std::string child = R"(printf 'a \033[01;31m\033[Kmatch\033[m\033[K b\n')";
  const auto run = [&](std::vector<std::string> settings, std::vector<std::string> flags) {
    std::vector<std::string> argv{pipemux_exe()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(child);
    return run_command(with_env(std::move(settings), argv)).out;
  };
  EXPECT_NE(run({}, {"--color", "never"}).find("out | a match b\n"), std::string::npos);
  EXPECT_NE(run({"NO_COLOR=1"}, {}).find("out | a match b\n"), std::string::npos);
  EXPECT_NE(run({}, {}).find("out | a \\x1b[01;31m\\x1b[Kmatch\\x1b[m\\x1b[K b\n"),
            std::string::npos);
  // On a terminal, grep's erase-to-end-of-line passes with the colours.
  const std::string shown = on_terminal(with_env({}, {pipemux_exe(), child})).out;
  const std::string sequence =
      std::string(esc) + "[01;31m" + esc + "[Kmatch" + esc + "[m" + esc + "[K b";
  EXPECT_NE(shown.find("| a " + sequence), std::string::npos) << shown;
}

TEST(Terminal, ChildrenAreToldToColourWhenTheLogIs) {
  const auto said = [](std::vector<std::string> settings, std::vector<std::string> flags) {
    std::vector<std::string> argv{pipemux_exe()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.emplace_back("echo \"FORCE_COLOR=${FORCE_COLOR-unset}\"");
    const std::string out = run_command(with_env(std::move(settings), argv)).out;
    auto at = out.find("| FORCE_COLOR=");  // its output, not the report of its start
    if (at == std::string::npos) return std::string("no line");
    at += 2;
    return out.substr(at, out.find_first_of("\n\x1b", at) - at);
  };
  EXPECT_EQ(said({}, {}), "FORCE_COLOR=unset");
  EXPECT_EQ(said({}, {"--color", "always"}), "FORCE_COLOR=1");
  EXPECT_EQ(said({"FORCE_COLOR=3"}, {}), "FORCE_COLOR=3");  // theirs is kept
  const std::string config = test::temp_path("no_force.toml");
  std::ofstream(config) << "[log]\nforce_color_children = false\n";
  EXPECT_EQ(said({}, {"-c", config, "--color", "always"}), "FORCE_COLOR=unset");
}

TEST(Terminal, ProgramsColourFromTheConfigAndLabelsLineUp) {
  const std::string config = test::temp_path("colours.toml");
  std::ofstream(config)
      << "[log]\ncolor = \"always\"\n"
         "[[program]]\nname = \"api\"\ncommand = \"echo a\"\ncolor = \"magenta\"\n"
         "[[program]]\nname = \"worker\"\ncommand = \"echo w\"\n";
  const auto result = run_command(with_env({}, {pipemux_exe(), "-c", config}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // api asked for magenta; worker takes the palette's first colour. Padding takes no colour.
  EXPECT_NE(result.out.find(std::string(esc) + "[35mapi.0" + esc + "[0m   ["), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find(std::string(esc) + "[36mworker.0" + esc + "[0m["), std::string::npos)
      << result.out;
  std::ofstream(config) << "[[program]]\nname = \"api\"\ncommand = \"echo a\"\ncolor = \"red\"\n";
  const auto bad = run_command({pipemux_exe(), "-c", config});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(":4:9: program[0].color: must be one of \"black\", \"green\""),
            std::string::npos)
      << bad.err;
}

TEST(Terminal, TimestampsAbsoluteRelativeOrNone) {
  const auto first_line = [](std::vector<std::string> flags) {
    std::vector<std::string> argv{pipemux_exe()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.emplace_back("echo x");
    const auto result = run_command(argv);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    for (const auto& line : lines_of(result.out))
      if (line.ends_with("|x") || line.ends_with("| x")) return line;
    return std::string("no line");
  };
  const std::regex absolute(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} echo\.0\[\d+\] out \| x)");
  const std::regex relative(R"(00:00:0\d\.\d{6} echo\.0\[\d+\] out \| x)");
  const std::regex none(R"(echo\.0\[\d+\] out \| x)");
  EXPECT_TRUE(std::regex_match(first_line({}), absolute)) << first_line({});
  EXPECT_TRUE(std::regex_match(first_line({"--timestamps", "relative"}), relative));
  EXPECT_TRUE(std::regex_match(first_line({"--timestamps", "none"}), none));
  EXPECT_EQ(first_line({"--log-pattern", "%q|%v"}).substr(0, 3), "00:");

  const auto both =
      run_command({pipemux_exe(), "--timestamps", "none", "--log-pattern", "%v", "echo x"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("give --log-pattern or --timestamps, not both"), std::string::npos)
      << both.err;
  const std::string config = test::temp_path("both.toml");
  std::ofstream(config) << "[log]\npattern = \"%v\"\ntimestamps = \"none\"\n";
  const auto in_file = run_command({pipemux_exe(), "-c", config, "echo x"});
  EXPECT_EQ(in_file.exit_code, 2);
  EXPECT_NE(in_file.err.find(":3:14: log.timestamps: picks one of the built-in patterns"),
            std::string::npos)
      << in_file.err;
  // The flag wins over the file's choice.
  std::ofstream(config) << "[log]\npattern = \"%v\"\n";
  EXPECT_TRUE(std::regex_match(first_line({"-c", config, "--timestamps", "none"}), none));
}

TEST(Terminal, UnderPtyAChildSeesATerminalOfItsOwnAndLosesNoLine) {
  const std::string dir = test::temp_path("pty_dir");
  std::filesystem::create_directories(dir + "/subdir");
  const std::string probe = "ls --color=auto " + dir +
                            "; test -t 1 && echo stdout-is-a-tty || echo stdout-is-a-pipe; "
                            "test -t 2 && echo stderr-is-a-tty >&2; "
                            // /proc/PID/stat: pid comm state ppid pgrp session ...
                            "read -r pid comm state ppid pgrp session rest < /proc/$$/stat; "
                            "echo \"ids $pid $session $pgrp\"";
  const auto on_pty = run_command(with_env({}, {pipemux_exe(), "--pty", probe}));
  EXPECT_EQ(on_pty.exit_code, 0) << on_pty.out << on_pty.err;
  // ls colours the directory (escaped: the log is not coloured), the streams are a terminal,
  // merged into "out", and the child leads a session and a process group of its own.
  EXPECT_TRUE(has(on_pty.out, "out | \\x1b[0m\\x1b[01;34msubdir\\x1b[0m\n")) << on_pty.out;
  EXPECT_TRUE(has(on_pty.out, "out | stdout-is-a-tty\n")) << on_pty.out;
  EXPECT_TRUE(has(on_pty.out, "out | stderr-is-a-tty\n")) << on_pty.out;
  EXPECT_FALSE(has(on_pty.out, "\\r")) << "a line must end as the program ended it";
  std::smatch ids;
  const std::string text = on_pty.out;
  ASSERT_TRUE(std::regex_search(text, ids, std::regex(R"(\| ids (\d+) +(\d+) +(\d+)\n)")));
  EXPECT_EQ(ids[1], ids[2]);
  EXPECT_EQ(ids[1], ids[3]);

  // Coloured, ls's colours come through as they are; without a terminal, ls does not colour.
  EXPECT_TRUE(
      has(run_command(with_env({}, {pipemux_exe(), "--pty", "--color", "always", probe})).out,
          std::string(esc) + "[01;34msubdir"));
  const auto piped = run_command(with_env({}, {pipemux_exe(), probe}));
  EXPECT_TRUE(has(piped.out, "out | subdir\n")) << piped.out;
  EXPECT_TRUE(has(piped.out, "out | stdout-is-a-pipe\n")) << piped.out;

  // Every line, in order, from each of several children; the end of a terminal (EIO) is
  // the end of its output, not an error.
  const auto many = run_command({pipemux_exe(), "--pty", "-n", "3", "seq 1 50000"});
  EXPECT_EQ(many.exit_code, 0) << many.err;
  std::map<std::string, long> next;
  std::size_t wrong = 0;
  const std::regex line(R"(\S+ \S+ (seq\.\d)\[\d+\] out \| (\d+))");
  for (const auto& l : lines_of(many.out)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    if (std::stol(m[2]) != ++next[m[1]]) ++wrong;
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(next,
            (std::map<std::string, long>{{"seq.0", 50000}, {"seq.1", 50000}, {"seq.2", 50000}}));
  EXPECT_FALSE(has(many.out, "reading its output failed")) << many.out;
}

// A progress bar redrawn with '\r' is shown on a terminal as the terminal would show it: the
// part after the last '\r' (a "\r\n" line end is no redraw). A file and JSON keep every byte.
TEST(Terminal, AProgressBarShowsItsLastStateOnATerminalAndEveryByteInAFile) {
  const std::string file = test::temp_path("progress.log");
  const std::string child =
      R"(printf 'fetch  10%%\rfetch  50%%\rfetch 100%%\n'; )"
      R"(printf '\033[32mgreen 10%%\rgreen 100%%\033[0m\n'; printf 'abc\r\r\n'; )"
      R"(printf 'crlf line\r\n'; printf '\033[32mok\033[0m\r\033[K\n')";
  const auto shown = on_terminal({pipemux_exe(), "--ansi", "keep", "-o", "-", "-o", "text:" + file,
                                  "-o", "json:" + file + ".json", child});
  EXPECT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_TRUE(has(shown.out, "out | fetch 100%\n")) << shown.out;
  EXPECT_FALSE(has(shown.out, "out | fetch  10%")) << shown.out;
  EXPECT_TRUE(has(shown.out, "out | crlf line\n")) << shown.out;
  // A colour set before the last '\r' still holds, as on the terminal.
  EXPECT_TRUE(has(shown.out, "out | " + std::string(esc) + "[32mgreen 100%" + esc + "[0m\n"))
      << shown.out;
  EXPECT_TRUE(has(shown.out, "out | abc\n")) << shown.out;
  EXPECT_TRUE(has(shown.out, "out | " + std::string(esc) + "[32m" + esc + "[0m" + esc + "[K\n"))
      << shown.out;
  const std::string logged = test::read_file(file);
  EXPECT_TRUE(has(logged, "out | fetch  10%\\rfetch  50%\\rfetch 100%\n")) << logged;
  EXPECT_TRUE(has(logged, "out | crlf line\\r\n")) << logged;
  const std::string json = test::read_file(file + ".json");
  EXPECT_TRUE(has(json, R"("message":"fetch  10%\rfetch  50%\rfetch 100%")")) << json;
  // Escaped, '\r' stays visible on a terminal too: nothing is hidden from a reader who asked.
  const auto escaped = on_terminal({pipemux_exe(), "--ansi", "escape", child});
  EXPECT_TRUE(has(escaped.out, "out | fetch  10%\\rfetch  50%\\rfetch 100%\n")) << escaped.out;
}

// --pty in a real terminal (tmux's) that is resized: the child's terminal takes the size of
// pipemux's at the start and after each SIGWINCH, and its program hears SIGWINCH.
TEST(Terminal, UnderPtyAChildsTerminalFollowsTheSizeOfPipemuxs) {
  if (std::system("command -v tmux > /dev/null") != 0) GTEST_SKIP() << "tmux is not installed";
  const std::string log = test::temp_path("winch.log");
  const std::string session = test::unique("pipemux-winch");
  const std::string child =
      "python3 -u -c 'import os, signal, time\n"
      "def show(*_): s = os.get_terminal_size(1); print(\"size\", s.lines, s.columns)\n"
      "signal.signal(signal.SIGWINCH, show); show()\n"
      "while True: time.sleep(1)'";
  const std::string run = shell_quoted({pipemux_exe(), "--pty", "-o", log, child});
  ASSERT_EQ(
      std::system(("tmux -L " + session + " new-session -d -s w -x 80 -y 24 " + shell_quoted({run}))
                      .c_str()),
      0);
  const auto logged = [&](const std::string& text) {
    return test::eventually([&] { return has(test::read_file(log), text); });
  };
  EXPECT_TRUE(logged("out | size 24 80\n")) << test::read_file(log);
  EXPECT_EQ(std::system(("tmux -L " + session + " resize-window -t w -x 132 -y 40").c_str()), 0);
  EXPECT_TRUE(logged("out | size 40 132\n")) << test::read_file(log);
  // Closing the terminal hangs it up: pipemux stops the child (SIGHUP) and is gone.
  EXPECT_EQ(std::system(("tmux -L " + session + " kill-server").c_str()), 0);
  EXPECT_TRUE(logged("received SIGHUP")) << test::read_file(log);
  EXPECT_TRUE(logged("- * summary: 2 messages")) << test::read_file(log);
}

// -i on a real terminal (tmux's): typed lines reach the child, Ctrl-D ends its input; with
// --pty the child reads them from its own terminal.
TEST(Terminal, TypedInputReachesTheChildAndCtrlDEndsIt) {
  if (std::system("command -v tmux > /dev/null") != 0) GTEST_SKIP() << "tmux is not installed";
  for (const bool pty : {false, true}) {
    const std::string log = test::temp_path(pty ? "typed-pty.log" : "typed.log");
    const std::string session = test::unique(pty ? "pipemux-typed-pty" : "pipemux-typed");
    std::vector<std::string> argv = {pipemux_exe(), "-i", "-o", log};
    if (pty) argv.emplace_back("--pty");
    argv.emplace_back("while IFS= read -r l; do echo \"got [$l]\"; done; echo input ended");
    const std::string tmux = "tmux -L " + session;
    ASSERT_EQ(std::system(
                  (tmux + " new-session -d -s t -x 80 -y 24 " + shell_quoted({shell_quoted(argv)}))
                      .c_str()),
              0);
    const auto logged = [&](const std::string& text) {
      return test::eventually([&] { return has(test::read_file(log), text); });
    };
    EXPECT_TRUE(logged("- * started: ")) << test::read_file(log);
    EXPECT_EQ(std::system((tmux + " send-keys -t t 'hello there' Enter").c_str()), 0);
    EXPECT_TRUE(logged("out | got [hello there]\n")) << test::read_file(log);
    EXPECT_EQ(std::system((tmux + " send-keys -t t C-d").c_str()), 0);
    EXPECT_TRUE(logged("out | input ended\n")) << test::read_file(log);
    EXPECT_TRUE(logged("- * summary: 2 messages")) << test::read_file(log);
    std::system((tmux + " kill-server 2> /dev/null").c_str());
  }
}

TEST(Terminal, APtyProgramIsStoppedAndReapedLikeAnyOther) {
  const std::string sleep = test::long_sleep();
  const std::string config = test::temp_path("pty.toml");
  std::ofstream(config) << "[[program]]\nname = \"held\"\npty = true\ncommand = \"echo up; " +
                               sleep +
                               "\"\n[[program]]\nname = \"piped\"\n"
                               "command = \"test -t 1 || echo no-tty; " +
                               sleep + "\"\n";
  const auto result = run_command({pipemux_exe(), "-c", config},
                                  test::signal_when(SIGTERM, [](const std::string& out) {
                                    return has(out, "| up\n") && has(out, "| no-tty\n");
                                  }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  EXPECT_TRUE(has(result.out, "held.0 [")) << result.out;
  EXPECT_TRUE(test::none_left(sleep));
}

}  // namespace
}  // namespace pipemux
