#include "command_line.hpp"

#include <spdlog/version.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <span>
#include <string_view>

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
  static constexpr std::string_view subcommands[] = {"completion", "ctl",    "help",   "run",
                                                     "start",      "status", "version"};
  if (shell_commands.empty()) return {};
  const std::string& word = shell_commands.front();  // `pipemux completion bash` too
  if (std::find(std::begin(subcommands), std::end(subcommands), word) == std::end(subcommands) ||
      in_path(word))
    return {};
  return fmt::format(
      "'{}' is not a pipemux command (its only one is spam), and no program of that name is in "
      "PATH (see pipemux --help)",
      word);
}

}  // namespace

std::string version_text() {
  return fmt::format("pipemux {} (built with Boost {}.{}.{}, spdlog {}.{}.{}, fmt {}.{}.{})",
                     PIPEMUX_VERSION_STRING, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                     BOOST_VERSION % 100, SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH,
                     FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
}

command parse_command_line(int argc, const char* const* argv) {
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
    if (request.input && !request.cfg.programs.empty())  // said now, with the other mistakes
      input_routes(request.cfg.resolved_programs(), request.input_target);
    return request;
  } catch (const usage_error& e) {
    return report_error(e.what(), exit_code::usage);
  }
}

}  // namespace pipemux::cli
