#include "command_line.hpp"

#include <spdlog/version.h>
#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iostream>

#include "pipemux/env_file.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/log_pattern_check.hpp"
#include "pipemux/name_escape.hpp"
#include "pipemux/procfile.hpp"
#include "pipemux/seconds.hpp"
#include "pipemux/shell_command.hpp"
#include "pipemux/stop_signal.hpp"
#include "pipemux/version.hpp"
#include "program_selection.hpp"

namespace pipemux::cli {
namespace {

// A number of seconds, plain decimal ("5", "0.25": std::stod took " 1", "0x10" and "1e-3",
// and CLI::Range lets nan through) and within [min, max].
CLI::Validator seconds_between(double min, double max) {
  return CLI::Validator(
      [min, max](const std::string& text) -> std::string {
        double value = 0;
        if (!is_plain_decimal(text) ||
            std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc())
          return "not a plain decimal number of seconds (such as 5 or 0.25): '" + escaped(text) +
                 "'";
        if (value < min || value > max)
          return fmt::format("must be between {} and {} seconds (got {})", min, max, text);
        return {};
      },
      fmt::format("SECONDS in [{} - {}]", min, max));
}

void add_spam_options(CLI::App& app, spam_options& spam) {
  app.add_option("--count", spam.count, "Messages per child; 0 = for ever");
  app.add_option("--interval", spam.interval, "Seconds between messages")
      ->check(seconds_between(0, 3600))
      ->type_name("DECIMAL");
  app.add_option("--payload", spam.payload, "Pad each message to at least this many bytes")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  app.add_flag("--sequence", spam.sequence,
               "Tag each message with the child's index and a sequence number");
}

// A flag whose value is one of the names in `table` (the config file's names).
template <class T>
CLI::Option* add_choice(CLI::App& app, const std::string& flag, T& value,
                        std::span<const named<T>> table, const std::string& help) {
  std::string names;
  for (const auto& [name, v] : table) names += (names.empty() ? "" : "|") + std::string(name);
  return app
      .add_option_function<std::string>(
          flag,
          [&value, table](const std::string& given) {
            for (const auto& [name, v] : table)
              if (given == name) value = v;
          },
          help)
      ->type_name(names)
      ->check([table, names](const std::string& given) {
        for (const auto& [name, v] : table)
          if (given == name) return std::string();
        return "must be one of " + names + " (got " + given + ")";
      });
}

// The programs given on the command line: each COMMAND before `--` is one shell command line;
// what follows `--` is one exact argv. `names` (from --names) are given to them in that order.
std::vector<program_spec> command_line_programs(const std::vector<std::string>& shell_commands,
                                                std::vector<std::string> exact_argv,
                                                const std::vector<std::string>& names) {
  std::vector<program_spec> programs;
  programs.reserve(shell_commands.size() + 1);
  for (const auto& line : shell_commands) programs.push_back(shell_program(line));
  if (!exact_argv.empty()) {
    program_spec spec;
    spec.name = default_program_name(exact_argv);
    spec.argv = std::move(exact_argv);
    programs.push_back(std::move(spec));
  }
  for (std::size_t i = 0; i < names.size(); ++i) programs[i].name = names[i];
  for (auto& spec : programs) spec.instances = 0;  // -n or `children` decides
  make_names_unique(programs);
  return programs;
}

// A COMMAND that is empty or whitespace: `sh -c ''` runs nothing and exits 0, which is never
// what was meant (an empty command in the config or a Procfile is refused too).
std::string blank_command(const std::vector<std::string>& shell_commands,
                          const std::vector<std::string>& exact_argv) {
  for (std::size_t i = 0; i < shell_commands.size(); ++i)
    if (is_blank_command_line(shell_commands[i]))
      return fmt::format("COMMAND {} ('{}') names no program to run", i + 1,
                         escaped(shell_commands[i]));
  if (!exact_argv.empty() && exact_argv.front().empty())
    return "the command after -- ('') names no program to run";
  return {};
}

// --names: one name per command, in order; a name labels every line, so it must be printable.
std::string check_names(const std::vector<std::string>& names, std::size_t commands) {
  if (commands == 0) return "--names: there is no COMMAND to name";
  if (names.size() > commands)
    return fmt::format("--names: {} names for {} command{}", names.size(), commands,
                       commands == 1 ? "" : "s");
  for (const auto& name : names) {
    if (name.empty()) return "--names: a name is empty";
    if (name_needs_escape(name))
      return "--names: '" + escaped_name(name) +
             "' must be printable text, without control characters (bidirectional ones too) or "
             "backslashes";
  }
  return {};
}

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

// A repeatable option taking one value per occurrence: CLI11 would otherwise let a vector
// option swallow the COMMANDs after it (`--names api,web 'npm run api'`). With `list`, a
// value is a comma-separated list.
CLI::Option* one_value_each(CLI::Option* option, bool list = false) {
  if (list) option->delimiter(',');
  return option->expected(1)->allow_extra_args(false)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

// -o [FORMAT:]PATH, each: "json:run.jsonl", "text:-", "run.log". Only a known format's name
// is a prefix, so "./json:x" is a file with a colon in its name. An empty path would mean
// standard output in silence: `problem` says so, and no sinks are returned.
std::vector<log_sink_options> sinks_from_flags(const std::vector<std::string>& outputs,
                                               std::string& problem) {
  std::vector<log_sink_options> sinks;
  for (const std::string& output : outputs) {
    if (output.empty()) {
      problem = "-o '': no file given (- is standard output)";
      return {};
    }
    log_sink_options sink;
    sink.path = output;
    sink.origin = "--output";
    for (const auto& [name, kind] : log_format_names)
      if (output.size() > name.size() && output.starts_with(name) && output[name.size()] == ':') {
        sink.format = kind;
        sink.path = output.substr(name.size() + 1);
        if (sink.path.empty()) {
          problem = fmt::format("-o {0}:: no file after '{0}:' ({0}:- is standard output)", name);
          return {};
        }
      }
    sinks.push_back(std::move(sink));
  }
  return sinks;
}

// The name a choice's value has in `table` (the config file's and the flag's name).
template <class T>
std::string name_of(std::span<const named<T>> table, T value) {
  for (const auto& [name, v] : table)
    if (v == value) return std::string(name);
  return {};
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

  std::string config_path;
  std::size_t children = 0;
  std::size_t read_size = 0;
  framing_mode framing{};
  stderr_mode stderr_handling{};
  stop_condition stop_on{};
  cgroup_mode cgroup{};
  restart_mode restart{};
  std::size_t max_restarts = 0;
  std::string stop_signal;
  std::size_t max_line = 0;
  std::vector<std::string> outputs;
  std::string pattern;
  std::string stop_grace;  // kept as written: rounded to the millisecond from its digits
  std::vector<std::string> shell_commands;  // before --: each one shell command line
  std::vector<std::string> names;
  std::string procfile;
  std::vector<std::string> env_files;
  program_selection selection;
  color_choice color{};
  timestamp_style timestamps{};
  ansi_mode ansi{};
  std::vector<std::string> hidden;
  log_format_kind format{};
  bool pty = false;
  bool journal = false;
  bool syslog = false;
  std::string syslog_to = "local";
  int syslog_facility_code = 1;
  std::size_t syslog_max_message = default_syslog_max_message;

  app.add_option("-c,--config", config_path, "TOML config file (see config/pipemux.toml)")
      ->check(CLI::ExistingFile);
  auto* children_opt = app.add_option("-n,--children", children, "Children per program")
                           ->check(CLI::Range(std::size_t{1}, limits::max_children));
  auto* read_size_opt = app.add_option("-r,--read-size", read_size, "Bytes per read of each pipe")
                            ->check(CLI::Range(std::size_t{1}, limits::max_read_size));
  auto* framing_opt = add_choice<framing_mode>(app, "--framing", framing, framing_names,
                                               "line: one message per line; raw: one per read");
  auto* stderr_opt =
      add_choice<stderr_mode>(app, "--stderr", stderr_handling, stderr_names,
                              "Children's stderr: its own pipe, merged into stdout, or inherited");
  auto* max_line_opt =
      app.add_option("--max-line", max_line, "Longer lines are logged in pieces of this size")
          ->check(CLI::Range(std::size_t{1}, limits::max_line));
  auto* output_opt =
      one_value_each(app.add_option("-o,--output", outputs,
                                    "Append the log to FILE instead of standard output; "
                                    "repeatable; - is standard output, json:FILE or text:FILE "
                                    "a format for that one"))
          ->type_name("[FORMAT:]FILE");
  app.add_flag("--journal", journal,
               "Send the log to the systemd journal as native entries (with -o, there too); "
               "automatic when standard output is the journal");
  app.add_flag("--syslog", syslog,
               "Send the log to syslog as RFC 5424 messages (with -o, there too): /dev/log, or "
               "--syslog-to");
  auto* syslog_to_opt =
      app.add_option("--syslog-to", syslog_to,
                     "Where syslog goes: local (/dev/log), a socket's path, udp://HOST[:PORT], "
                     "tcp://HOST[:PORT]; implies --syslog")
          ->check([](const std::string& text) {
            const std::string why = syslog_address_problem(text);
            return why.empty() ? why : "not a syslog address: \"" + escaped(text) + "\": " + why;
          })
          ->type_name("ADDRESS");
  auto* syslog_facility_opt = add_choice<int>(
      app, "--syslog-facility", syslog_facility_code, syslog_facility_names,
      "syslog facility: user (default), daemon, local0 ... local7, kern, mail, auth, "
      "syslog, lpr, news, uucp, cron, authpriv, ftp; implies --syslog");
  syslog_facility_opt->type_name("FACILITY");
  auto* syslog_max_message_opt =
      app.add_option("--syslog-max-message", syslog_max_message,
                     "Longest syslog message, header included (default 8096, rsyslog's "
                     "maxMessageSize); a longer line goes in pieces; implies --syslog")
          ->type_name("BYTES");
  auto* pattern_opt =
      app.add_option("--log-pattern", pattern,
                     "spdlog pattern, with %v (the text); see README for %L %N %k %w %J %Z %q")
          ->check([](const std::string& text) { return log_pattern_problem(text); });
  auto* format_opt = add_choice<log_format_kind>(
      app, "--format", format, log_format_names,
      "text: a line per message for people; json: a JSON object per line for a collector");
  auto* color_opt = add_choice<color_choice>(
      app, "--color", color, color_names,
      "Colour the log: auto = on a terminal, unless NO_COLOR is set (FORCE_COLOR forces it)");
  auto* timestamps_opt = add_choice<timestamp_style>(
      app, "--timestamps", timestamps, timestamp_names,
      "Start each line with the time, the time since the start, or none");
  auto* ansi_opt = add_choice<ansi_mode>(
      app, "--ansi", ansi, ansi_names,
      "A child's own colours: keep, strip or escape them (default: keep when colouring)");
  auto* grace_opt =
      app.add_option("--stop-grace", stop_grace,
                     "Seconds a child gets after the stop signal before SIGKILL: plain decimal "
                     "(5, 0.25; no exponent), rounded to the millisecond as in the config")
          ->check(seconds_between(0, 3600))
          ->type_name("DECIMAL");
  auto* stop_signal_opt =
      app.add_option("--stop-signal", stop_signal,
                     "Signal that asks a child to stop: one that ends a process by default")
          ->check([](const std::string& name) {
            const auto sig = parse_signal(name);
            if (!sig) return "not a signal: " + escaped(name);
            if (std::string problem = stop_signal_problem(*sig); !problem.empty())
              return problem + " (give SIGTERM, SIGINT, SIGQUIT, SIGHUP, ...)";
            return std::string();
          });
  auto* stop_on_opt = add_choice<stop_condition>(app, "--stop-on", stop_on, stop_on_names,
                                                 "End the run when one child fails, or exits");
  auto* cgroup_opt = add_choice<cgroup_mode>(
      app, "--cgroup", cgroup, cgroup_names,
      "Run the children in a cgroup of their own when possible (auto), never, or only so");
  auto* restart_opt = add_choice<restart_mode>(app, "--restart", restart, restart_names,
                                               "Restart children that exit");
  auto* max_restarts_opt =
      app.add_option("--max-restarts", max_restarts, "Restarts per child at most")
          ->check(CLI::Range(std::size_t{0}, limits::max_restarts));
  // --help shows each default: the CLI's own (config{}), which a config file may change.
  const config defaults;
  const run_options& run_defaults = defaults.run;
  children_opt->default_str(std::to_string(defaults.children));
  read_size_opt->default_str(std::to_string(run_defaults.read_size));
  framing_opt->default_str(name_of<framing_mode>(framing_names, run_defaults.framing));
  stderr_opt->default_str(name_of<stderr_mode>(stderr_names, run_defaults.stderr_handling));
  max_line_opt->default_str(std::to_string(run_defaults.max_line));
  grace_opt->default_str(
      fmt::format("{}", std::chrono::duration<double>(run_defaults.stop_grace).count()));
  stop_signal_opt->default_str(signal_name(run_defaults.stop_signal));
  stop_on_opt->default_str(name_of<stop_condition>(stop_on_names, run_defaults.stop_on));
  cgroup_opt->default_str(name_of<cgroup_mode>(cgroup_names, run_defaults.cgroup));
  restart_opt->default_str(name_of<restart_mode>(restart_names, run_defaults.restart.mode));
  max_restarts_opt->default_str(std::to_string(run_defaults.restart.max_restarts));
  format_opt->default_str(name_of<log_format_kind>(log_format_names, defaults.log.format));
  color_opt->default_str(name_of<color_choice>(color_names, defaults.log.color));
  timestamps_opt->default_str(name_of<timestamp_style>(timestamp_names, defaults.log.timestamps));
  auto* names_opt = one_value_each(
      app.add_option("--names", names, "Names for the commands, in order (default: program name)"),
      true);
  names_opt->type_name("NAME,...");
  auto* procfile_opt = app.add_option(
      "-f,--procfile", procfile,
      "Run the programs of a Procfile (NAME: COMMAND lines); a .env beside it is read");
  one_value_each(
      app.add_option("-e,--env-file", env_files,
                     "Set the variables of FILE (.env syntax) in every child; repeatable"));
  one_value_each(app.add_option("-m,--formation", selection.formation,
                                "How many children of each program: web=2,worker=3 (0: not run)"),
                 true)
      ->type_name("NAME=N,...");
  app.add_flag("--pty", pty,
               "Give every child a pseudo-terminal for stdout and stderr (merged), as in a "
               "terminal");
  one_value_each(
      app.add_option("--hide", hidden, "Run these programs but log only their start and exit"),
      true)
      ->type_name("NAME,...");
  one_value_each(app.add_option("--only", selection.only, "Run only these programs"), true)
      ->type_name("NAME,...");
  one_value_each(app.add_option("--except", selection.except, "Run all programs but these"), true)
      ->type_name("NAME,...");
  app.add_option("command", shell_commands,
                 "Run each COMMAND with /bin/sh -c instead of the configured programs; after --, "
                 "one command as an exact argv (no shell)");

  spam_request spam;
  auto* spam_app = app.add_subcommand(
      "spam", "The built-in producer: writes \"Spam 0\" ... \"Spam 4\", cycling");
  spam_app->allow_extras(false);
  add_spam_options(*spam_app, spam.options);
  spam_app->add_option("--index", spam.index,
                       "Child index shown in --sequence mode (default: $PIPEMUX_CHILD_INDEX)");
  spam_app->add_option(
      "--record", spam.record_prefix,
      "Save how many messages were written to PREFIX<index>, even when stopped by a signal");

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
    std::cerr << "pipemux: error: " << e.what() << " (see pipemux --help)\n";
    return exit_code::usage;
  }
  if (const auto extras = app.remaining(); !extras.empty()) {
    std::cerr << "pipemux: error: " << unexpected_argument(extras.front(), shell_commands)
              << " (see pipemux --help)\n";
    return exit_code::usage;
  }
  if (spam_app->parsed()) {
    if (parsed_argc == argc) return spam;
    std::cerr << "pipemux: error: spam takes no command (see pipemux spam --help)\n";
    return exit_code::usage;
  }
  if (parsed_argc < argc && exact_argv.empty()) {
    std::cerr << "pipemux: error: nothing after --: give the command to run (see pipemux --help)\n";
    return exit_code::usage;
  }
  const std::size_t command_count = shell_commands.size() + (exact_argv.empty() ? 0 : 1);
  if (const std::string problem = blank_command(shell_commands, exact_argv); !problem.empty()) {
    std::cerr << "pipemux: error: " << problem << "\n";
    return exit_code::usage;
  }
  if (*names_opt) {
    if (const std::string problem = check_names(names, command_count); !problem.empty()) {
      std::cerr << "pipemux: error: " << problem << "\n";
      return exit_code::usage;
    }
  }

  supervise_request request;
  try {
    if (!config_path.empty()) request.cfg = load_config_file(config_path);
  } catch (const config_error& e) {
    std::cerr << "pipemux: error: " << e.what() << "\n";
    return exit_code::usage;
  }
  config& cfg = request.cfg;
  if (*read_size_opt) cfg.run.read_size = read_size;
  if (*framing_opt) cfg.run.framing = framing;
  if (*stderr_opt) cfg.run.stderr_handling = stderr_handling;
  if (*stop_signal_opt) cfg.run.stop_signal = *parse_signal(stop_signal);
  if (*stop_on_opt) cfg.run.stop_on = stop_on;
  if (*cgroup_opt) cfg.run.cgroup = cgroup;
  if (*restart_opt) cfg.run.restart.mode = restart;
  if (*max_restarts_opt) cfg.run.restart.max_restarts = max_restarts;
  if (*max_line_opt) cfg.run.max_line = max_line;
  syslog = syslog || *syslog_to_opt || *syslog_facility_opt || *syslog_max_message_opt;
  if (*output_opt || journal || syslog) {  // the flags' outputs replace the file's
    std::string problem;
    cfg.log.sinks = sinks_from_flags(outputs, problem);
    if (!problem.empty()) {
      std::cerr << "pipemux: error: " << problem << "\n";
      return exit_code::usage;
    }
    if (syslog) {
      log_sink_options sink;
      sink.kind = sink_kind::syslog;
      sink.address = *parse_syslog_address(syslog_to);
      sink.facility = syslog_facility_code;
      sink.max_message = syslog_max_message;
      if (const auto too_long = syslog_max_message_problem(sink.address, syslog_max_message);
          !too_long.empty()) {
        std::cerr << "pipemux: error: --syslog-max-message: " << too_long << "\n";
        return exit_code::usage;
      }
      sink.origin = "--syslog";
      cfg.log.sinks.push_back(std::move(sink));
    }
    if (journal) {
      log_sink_options sink;
      sink.kind = sink_kind::journal;
      sink.origin = "--journal";
      cfg.log.sinks.push_back(std::move(sink));
    }
  }
  if (*pattern_opt && *timestamps_opt) {
    std::cerr << "pipemux: error: --timestamps picks one of the built-in patterns: give "
                 "--log-pattern or --timestamps, not both (%q in a pattern is the time since the "
                 "start)\n";
    return exit_code::usage;
  }
  if (*pattern_opt) cfg.log.pattern = pattern;  // a flag wins over the file's choice
  if (*timestamps_opt) {
    cfg.log.timestamps = timestamps;
    cfg.log.pattern.clear();
  }
  if (*color_opt) cfg.log.color = color;
  if (*format_opt) cfg.log.format = format;
  const auto is_text = [&cfg](const log_sink_options& sink) {
    return sink.format.value_or(cfg.log.format) == log_format_kind::text;
  };
  const bool any_text = cfg.log.sinks.empty()
                            ? cfg.log.format == log_format_kind::text
                            : std::any_of(cfg.log.sinks.begin(), cfg.log.sinks.end(), is_text);
  if (!any_text && !cfg.log.pattern.empty()) {
    std::cerr << "pipemux: error: a log pattern is for text: JSON lines have their own fields "
                 "(give --format json or a pattern, not both)\n";
    return exit_code::usage;
  }
  if (pty) cfg.pty = true;
  if (*ansi_opt) cfg.log.ansi = ansi;
  if (*grace_opt) cfg.run.stop_grace = *decimal_seconds_to_milliseconds(stop_grace);
  if (*procfile_opt) {
    if (command_count > 0) {
      std::cerr << "pipemux: error: --procfile and COMMANDs: give one or the other\n";
      return exit_code::usage;
    }
    try {
      cfg.programs = load_procfile(procfile);
    } catch (const config_error& e) {
      std::cerr << "pipemux: error: " << e.what() << "\n";
      return exit_code::usage;
    }
  }
  if (command_count > 0)
    cfg.programs = command_line_programs(shell_commands, std::move(exact_argv), names);
  // --env-file, in order; without one, a .env beside the Procfile if there is one (as honcho
  // and foreman read it); nothing else is read implicitly.
  std::vector<std::filesystem::path> env_paths(env_files.begin(), env_files.end());
  if (env_paths.empty() && *procfile_opt) {
    const auto beside = std::filesystem::path(procfile).parent_path() / ".env";
    std::error_code ignored;
    if (std::filesystem::exists(beside, ignored)) env_paths.push_back(beside);
  }
  try {
    for (const auto& path : env_paths) {
      // A later file may use what an earlier one set: ${NAME} sees it before the environment.
      const auto lookup = [&cfg](const std::string& name) -> std::optional<std::string> {
        const auto it =
            std::find_if(cfg.environment.rbegin(), cfg.environment.rend(),
                         [&name](const auto& variable) { return variable.first == name; });
        return it != cfg.environment.rend() ? it->second : environment_lookup(name);
      };
      for (auto& variable : load_env_file(path, lookup))
        cfg.environment.push_back(std::move(variable));
    }
  } catch (const config_error& e) {
    std::cerr << "pipemux: error: " << e.what() << "\n";
    return exit_code::usage;
  }
  if (*children_opt) {  // the flag wins over every instance count in the file
    cfg.children = children;
    for (auto& spec : cfg.programs) spec.instances = 0;
  }
  if (const std::string problem = apply_selection(cfg.programs, selection); !problem.empty()) {
    std::cerr << "pipemux: error: " << problem << "\n";
    return exit_code::usage;
  }
  if (const std::string problem = check_hidden(cfg.programs, hidden); !problem.empty()) {
    std::cerr << "pipemux: error: " << problem << "\n";
    return exit_code::usage;
  }
  for (const auto& name : hidden) cfg.log.program_streams.emplace_back(name, shown_streams::none);
  std::size_t total = 0;
  for (const auto& spec : cfg.resolved_programs()) total += spec.instances;
  if (total > limits::max_children) {
    std::cerr << "pipemux: error: " << total << " children in all; at most " << limits::max_children
              << " are supported\n";
    return exit_code::usage;
  }
  return request;
}

}  // namespace pipemux::cli
