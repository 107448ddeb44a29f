#include "command_line.hpp"

#include <spdlog/version.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <span>
#include <string_view>

#include "check.hpp"
#include "input_forwarder.hpp"
#include "options.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/version.hpp"
#include "precedence.hpp"
#include "report.hpp"

namespace pipemux::cli {
namespace {

// An argument nobody takes (CLI11's extras: an unknown option). After a command, as in
// `pipemux ls -la`, it is said in terms of the two ways of giving commands.
std::string unexpected_argument(const std::string& extra,
                                const std::vector<std::string>& shell_commands,
                                std::span<const char* const> args) {
  std::string not_expected = "The following argument was not expected: " + escaped(extra);
  if (extra.size() < 2 || extra[0] != '-') return not_expected;
  // The command given last before it, if any: an unknown option before every command is just
  // unknown (`pipemux --sucess first 'a' 'b'`), not "after" one.
  std::size_t commands_before = 0;
  for (const char* arg : args) {
    const std::string_view token(arg);
    if (token == extra || token.starts_with(extra + "=")) break;
    if (commands_before < shell_commands.size() && token == shell_commands[commands_before])
      ++commands_before;
  }
  if (commands_before == 0) return not_expected;
  const std::string command = escaped(shell_commands[commands_before - 1]);
  return fmt::format(
      "unknown option {} (after the command '{}'): each COMMAND is one shell command line, so "
      "quote it: pipemux '{} {}', or give one command with its arguments after --: "
      "pipemux -- {} {}",
      escaped(extra), command, command, escaped(extra), command, escaped(extra));
}

// Whether `word` names an executable file in $PATH (what `sh -c word` would run).
bool in_path(const std::string& word) {
  const char* path = std::getenv("PATH");
  std::string_view dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  while (true) {
    const auto colon = dirs.find(':');
    std::string candidate(dirs.substr(0, colon));
    if (candidate.empty()) candidate = ".";
    candidate.append("/").append(word);
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) return false;
    dirs.remove_prefix(colon + 1);
  }
}

// `pipemux completion` or `pipemux completion bash`: a first word that is a subcommand in tools
// of this kind and no program of that name: a hint, not `sh -c completion` failing with 127.
std::string subcommand_hint(const std::vector<std::string>& shell_commands) {
  static constexpr std::string_view subcommands[] = {"completion", "help",   "run",
                                                     "start",      "status", "version"};
  if (shell_commands.empty()) return {};
  const std::string& word = shell_commands.front();  // `pipemux completion bash` too
  if (std::find(std::begin(subcommands), std::end(subcommands), word) == std::end(subcommands) ||
      in_path(word))
    return {};
  return fmt::format(
      "'{}' is not a pipemux command (they are spam, check and ctl), and no program of that name "
      "is in "
      "PATH (see pipemux --help)",
      word);
}

// `pipemux check`: a run stops at the first mistake in its files; check names every one, each
// with its file:line:col (the first, `first`, may be a flag's, said first).
int report_every_problem(const command_line_flags& flags, bool no_commands,
                         const std::string& first) {
  files_to_check files;
  std::error_code ignored;
  if (flags.config_path) files.config = flags.config_path.value;
  if (flags.procfile)
    files.procfile = flags.procfile.value;
  else if (!flags.config_path && no_commands &&
           std::filesystem::is_regular_file("Procfile", ignored))
    files.procfile = "Procfile";
  files.env_files.assign(flags.env_files.begin(), flags.env_files.end());
  if (files.env_files.empty() && files.procfile) {  // the .env beside it, as a run reads it
    const auto beside = files.procfile->parent_path() / ".env";
    if (std::filesystem::is_regular_file(beside, ignored)) files.env_files.push_back(beside);
  }
  std::vector<std::string> problems = every_file_problem(files);
  if (std::find(problems.begin(), problems.end(), first) == problems.end())
    problems.insert(problems.begin(), first);
  for (const auto& problem : problems) report_error(problem, exit_code::usage);
  return exit_code::usage;
}

int ctl_usage(const std::string& why) {
  std::cerr << "pipemux ctl: " << why << '\n';
  return ctl_exit_code::usage;
}

// `pipemux ctl [--socket PATH | --pid PID] [--json] REQUEST [ARGUMENT]`: its own flags, parsed
// apart from the run's.
command parse_ctl(int argc, const char* const* argv) {
  CLI::App app{"pipemux ctl: asks a running pipemux (its control socket) to do something."};
  app.footer(
      "Requests:\n"
      "  status                 each child: pid, uptime, restarts, lines, bytes, state\n"
      "  outputs                each syslog and journal output: messages, delivered, spooled,\n"
      "                         sent again, dropped (as SIGUSR2 says in the log)\n"
      "  restart NAME[.N]       stop the program's children (or one) and start them again\n"
      "  stop NAME[.N]          stop them for good (the run ends when no child is left)\n"
      "  start NAME[.N]         start again those that have ended\n"
      "  scale NAME=N           give the program N children\n"
      "  reopen                 reopen the log files (as SIGUSR1)\n"
      "  stop-all               stop the whole run (as SIGTERM)\n"
      "Exit codes: 0 done, 1 refused or failed, 2 usage, 3 no run reached.");
  ctl_request ctl;
  long pid = 0;
  bool json = false;
  std::vector<std::string> words;
  auto* socket =
      app.add_option("--socket", ctl.socket, "The run's control socket")->type_name("PATH");
  app.add_option("--pid", pid, "The run of this pid (its socket in the default directory)")
      ->excludes(socket)
      ->check([](const std::string& text) {
        return text.find_first_not_of("0123456789") == std::string::npos && text != "0" &&
                       !text.empty() && text.size() < 10
                   ? std::string()
                   : "a process id is a number from 1";
      });
  app.add_flag("--json", json, "status, outputs: one JSON object per child (output) and line");
  app.add_option("request", words, "What to ask: see below")->required()->expected(1, 2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return ctl_usage(std::string(e.what()) + " (see pipemux ctl --help)");
  }
  if (pid > 0) ctl.pid = pid;
  std::string line = words.front();
  if (words.size() > 1) escape_into(words[1], line += ' ');
  if (json && ((words.front() != "status" && words.front() != "outputs") || words.size() > 1))
    return ctl_usage("--json goes with status or outputs alone (see pipemux ctl --help)");
  if (json) line += " json";
  std::string error;
  const auto request = control_request::parse(line, error);
  if (!request) return ctl_usage(error + " (see pipemux ctl --help)");
  ctl.request = *request;
  return ctl;
}

}  // namespace

std::string version_text() {
  return fmt::format("pipemux {} (built with Boost {}.{}.{}, spdlog {}.{}.{}, fmt {}.{}.{})",
                     PIPEMUX_VERSION_STRING, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                     BOOST_VERSION % 100, SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH,
                     FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
}

command parse_command_line(int argc, const char* const* argv) {
  if (argc > 1 && std::string_view(argv[1]) == "ctl") return parse_ctl(argc - 1, argv + 1);
  CLI::App app{
      "pipemux: runs child processes and streams their output into one timestamped log.\n"
      "With no COMMAND, no [[program]] in the config and no ./Procfile, runs the built-in spam "
      "producer."};
  app.set_version_flag("--version", version_text());
  app.footer(
      "Examples:\n"
      "  pipemux --names api,web 'npm run api' 'npm run web'\n"
      "  pipemux -f Procfile -m web=2,worker=3 -e .env.dev --stop-on failure\n"
      "  pipemux -n 4 -o run.log -- ./worker --queue 'jobs high'\n"
      "Every flag's config key and default: config/pipemux.toml, and the README.");
  app.allow_extras();  // reported below, in terms of the command forms
  command_line_flags flags;
  declare_options(app, flags);

  // What follows the first `--` is one exact argv, not parsed here: `pipemux -- ls -la`.
  int parsed_argc = argc;
  std::vector<std::string> exact_argv;
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--") {
      parsed_argc = i;
      exact_argv.assign(argv + i + 1, argv + argc);
      break;
    }
  try {
    app.parse(parsed_argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_error(std::string(e.what()) + " (see pipemux --help)", exit_code::usage);
  }
  if (const auto extras = app.remaining(); !extras.empty())
    return report_error(
        unexpected_argument(extras.front(), flags.shell_commands,
                            std::span<const char* const>(argv + 1, argv + parsed_argc)) +
            " (see pipemux --help)",
        exit_code::usage);
  if (flags.spam_command->parsed()) {
    if (parsed_argc == argc) return flags.spam;
    return report_error("spam takes no command (see pipemux spam --help)", exit_code::usage);
  }
  if (const std::string hint = subcommand_hint(flags.shell_commands); !hint.empty())
    return report_error(hint, exit_code::usage);
  if (parsed_argc < argc && exact_argv.empty())
    return report_error("nothing after --: give the command to run (see pipemux --help)",
                        exit_code::usage);
  const bool no_commands = flags.shell_commands.empty() && exact_argv.empty();
  try {
    if (flags.check_command->parsed())
      return check_request{config_from_flags(flags, std::move(exact_argv))};
    supervise_request request;
    request.cfg = config_from_flags(flags, std::move(exact_argv));
    request.success = success_rule::parse(flags.success.value, request.cfg.resolved_programs());
    request.timings = flags.timings;
    request.group = flags.group;
    request.input = flags.input || static_cast<bool>(flags.input_target);
    request.input_target = flags.input_target.value;
    request.control = flags.control.value;
    if (flags.control && request.control.empty())
      return report_error("--control needs a PATH, or none", exit_code::usage);
    if (request.input && !request.cfg.programs.empty())  // said now, with the other mistakes
      input_routes(request.cfg.resolved_programs(), request.input_target);
    return request;
  } catch (const usage_error& e) {
    if (flags.check_command->parsed()) return report_every_problem(flags, no_commands, e.what());
    return report_error(e.what(), exit_code::usage);
  }
}

}  // namespace pipemux::cli
