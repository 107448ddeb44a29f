#include "command_line.hpp"

#include <spdlog/version.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include <fmt/format.h>

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
                                const std::vector<std::string>& shell_commands) {
  if (shell_commands.empty() || extra.size() < 2 || extra[0] != '-')
    return "The following argument was not expected: " + escaped(extra);
  const std::string command = escaped(shell_commands.back());
  return fmt::format(
      "unknown option {} (after the command '{}'): each COMMAND is one shell command line, so "
      "quote it: pipemux '{} {}', or give one command with its arguments after --: "
      "pipemux -- {} {}",
      escaped(extra), command, command, escaped(extra), command, escaped(extra));
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
      "With no COMMAND and no [[program]] in the config, runs the built-in spam producer."};
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
        unexpected_argument(extras.front(), flags.shell_commands) + " (see pipemux --help)",
        exit_code::usage);
  if (flags.spam_command->parsed()) {
    if (parsed_argc == argc) return flags.spam;
    return report_error("spam takes no command (see pipemux spam --help)", exit_code::usage);
  }
  if (parsed_argc < argc && exact_argv.empty())
    return report_error("nothing after --: give the command to run (see pipemux --help)",
                        exit_code::usage);
  try {
    return supervise_request{config_from_flags(flags, std::move(exact_argv))};
  } catch (const usage_error& e) {
    return report_error(e.what(), exit_code::usage);
  }
}

}  // namespace pipemux::cli
