#include "options.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <span>

#include "pipemux/escape.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/log_pattern_check.hpp"
#include "pipemux/seconds.hpp"
#include "pipemux/stop_signal.hpp"

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

// A flag whose value is one of the names in `table` (the config file's names).
template <class T>
CLI::Option* add_choice(CLI::App& app, const std::string& flag_name, T& value,
                        std::span<const named<T>> table, const std::string& help) {
  std::string names;
  for (const auto& [name, v] : table) names += (names.empty() ? "" : "|") + std::string(name);
  return app
      .add_option_function<std::string>(
          flag_name,
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

// A repeatable option taking one value per occurrence: CLI11 would otherwise let a vector
// option swallow the COMMANDs after it (`--names api,web 'npm run api'`). With `list`, a
// value is a comma-separated list.
CLI::Option* one_value_each(CLI::Option* option, bool list = false) {
  if (list) option->delimiter(',');
  return option->expected(1)->allow_extra_args(false)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

// The name a choice's value has in `table` (the config file's and the flag's name).
template <class T>
std::string name_of(std::span<const named<T>> table, T value) {
  for (const auto& [name, v] : table)
    if (v == value) return std::string(name);
  return {};
}

// Records the option, and --help's default: `default_value`'s name in `table`.
template <class T>
void choice(CLI::App& app, const std::string& name, flag<T>& f, std::span<const named<T>> table,
            T default_value, const std::string& help) {
  f.option = add_choice<T>(app, name, f.value, table, help);
  f.option->default_str(name_of<T>(table, default_value));
}

void declare_run_options(CLI::App& app, command_line_flags& flags, const config& defaults) {
  const run_options& run = defaults.run;
  flags.children.option =
      app.add_option("-n,--children", flags.children.value, "Children per program")
          ->check(CLI::Range(std::size_t{1}, limits::max_children))
          ->default_str(std::to_string(defaults.children));
  flags.read_size.option =
      app.add_option("-r,--read-size", flags.read_size.value, "Bytes per read of each pipe")
          ->check(CLI::Range(std::size_t{1}, limits::max_read_size))
          ->default_str(std::to_string(run.read_size));
  choice<framing_mode>(app, "--framing", flags.framing, framing_names, run.framing,
                       "line: one message per line; raw: one per read");
  choice<stderr_mode>(app, "--stderr", flags.stderr_handling, stderr_names, run.stderr_handling,
                      "Children's stderr: its own pipe, merged into stdout, or inherited");
  flags.max_line.option = app.add_option("--max-line", flags.max_line.value,
                                         "Longer lines are logged in pieces of this size")
                              ->check(CLI::Range(std::size_t{1}, limits::max_line))
                              ->default_str(std::to_string(run.max_line));
  flags.stop_grace.option =
      app.add_option("--stop-grace", flags.stop_grace.value,
                     "Seconds a child gets after the stop signal before SIGKILL: plain decimal "
                     "(5, 0.25; no exponent), rounded to the millisecond as in the config")
          ->check(seconds_between(0, 3600))
          ->type_name("DECIMAL")
          ->default_str(fmt::format("{}", std::chrono::duration<double>(run.stop_grace).count()));
  flags.stop_signal.option =
      app.add_option("--stop-signal", flags.stop_signal.value,
                     "Signal that asks a child to stop: one that ends a process by default")
          ->check([](const std::string& name) {
            const auto sig = parse_signal(name);
            if (!sig) return "not a signal: " + escaped(name);
            if (std::string problem = stop_signal_problem(*sig); !problem.empty())
              return problem + " (give SIGTERM, SIGINT, SIGQUIT, SIGHUP, ...)";
            return std::string();
          })
          ->default_str(signal_name(run.stop_signal));
  choice<stop_condition>(app, "--stop-on", flags.stop_on, stop_on_names, run.stop_on,
                         "End the run when one child fails, or exits (with a Procfile: exit)");
  flags.success.option =
      app.add_option("--success", flags.success.value,
                     "Exit 0 when these children succeed: all, the first or last to end, a "
                     "program's (NAME) or all but one program's (!NAME)")
          ->type_name("WHO")
          ->default_str("all");
  app.add_flag("--timings", flags.timings,
               "At the end, a table of each child's start, end, run time and how it ended");
  app.add_flag("-i,--input", flags.input,
               "Pass pipemux's stdin on to the children: a line NAME:text or NAME.N:text to "
               "those, any other to --input-target");
  flags.input_target.option =
      app.add_option("--input-target", flags.input_target.value,
                     "Where input lines without NAME: go: a program (each of its children) or "
                     "NAME.N; default the first child; implies --input")
          ->type_name("NAME[.N]");
  app.add_flag("--group", flags.group,
               "Each child's output together, in the children's order, as if run one after "
               "another: the first not done is written as it comes, the others' once it is");
  flags.control.option =
      app.add_option("--control", flags.control.value,
                     "The control socket for pipemux ctl: PATH, or none; default "
                     "$XDG_RUNTIME_DIR/pipemux/PID.sock (/run/pipemux/PID.sock for root)")
          ->type_name("PATH|none");
  choice<cgroup_mode>(app, "--cgroup", flags.cgroup, cgroup_names, run.cgroup,
                      "Run the children in a cgroup of their own when possible (auto), never, or "
                      "only so");
  choice<restart_mode>(app, "--restart", flags.restart, restart_names, run.restart.mode,
                       "Restart children that exit");
  flags.max_restarts.option =
      app.add_option("--max-restarts", flags.max_restarts.value, "Restarts per child at most")
          ->check(CLI::Range(std::size_t{0}, limits::max_restarts))
          ->default_str(std::to_string(run.restart.max_restarts));
  flags.max_processes.option =
      app.add_option("--max-processes", flags.max_processes.value,
                     "Run at most N children at once; the rest start as others end")
          ->check(CLI::Range(std::size_t{1}, limits::max_children))
          ->type_name("N")
          ->default_str("no limit");
}

void declare_output_options(CLI::App& app, command_line_flags& flags) {
  flags.outputs.option =
      one_value_each(app.add_option("-o,--output", flags.outputs.value,
                                    "Append the log to FILE instead of standard output; "
                                    "repeatable; - is standard output, json:FILE or text:FILE "
                                    "a format for that one"))
          ->type_name("[FORMAT:]FILE");
  app.add_flag("--journal", flags.journal,
               "Send the log to the systemd journal as native entries (with -o, there too); "
               "automatic when standard output is the journal");
  app.add_flag("--syslog", flags.syslog,
               "Send the log to syslog as RFC 5424 messages (with -o, there too): /dev/log, or "
               "--syslog-to");
  flags.syslog_to.option =
      app.add_option("--syslog-to", flags.syslog_to.value,
                     "Where syslog goes: local (/dev/log), a socket's path, udp://HOST[:PORT], "
                     "tcp://HOST[:PORT], tls://HOST[:PORT] (TCP with TLS), relp://HOST[:PORT] "
                     "(acknowledged); implies --syslog")
          ->check([](const std::string& text) {
            const std::string why = syslog_address_problem(text);
            return why.empty() ? why : "not a syslog address: \"" + escaped(text) + "\": " + why;
          })
          ->type_name("ADDRESS");
  flags.syslog_facility.option =
      add_choice<int>(app, "--syslog-facility", flags.syslog_facility.value, syslog_facility_names,
                      "syslog facility: user (default), daemon, local0 ... local7, kern, mail, "
                      "auth, syslog, lpr, news, uucp, cron, authpriv, ftp; implies --syslog")
          ->type_name("FACILITY");
  flags.syslog_max_message.option =
      app.add_option("--syslog-max-message", flags.syslog_max_message.value,
                     "Longest syslog message, header included (default 8096, rsyslog's "
                     "maxMessageSize); a longer line goes in pieces; implies --syslog")
          ->type_name("BYTES");
  flags.syslog_tls_ca.option =
      app.add_option(
             "--syslog-tls-ca", flags.syslog_tls_ca.value,
             "TLS to a tls:// or relp:// server: the CA (PEM) that signed its "
             "certificate, which must name its host (tls://: the system's CAs unless given)")
          ->type_name("FILE");
  flags.syslog_tls_cert.option =
      app.add_option("--syslog-tls-cert", flags.syslog_tls_cert.value,
                     "TLS: pipemux's own certificate (PEM), for a server that asks for one")
          ->type_name("FILE");
  flags.syslog_tls_key.option = app.add_option("--syslog-tls-key", flags.syslog_tls_key.value,
                                               "TLS: the private key (PEM) of --syslog-tls-cert")
                                    ->type_name("FILE");
  flags.syslog_spool.option =
      app.add_option("--syslog-spool", flags.syslog_spool.value,
                     "A disk spool for syslog: lines wait in DIR (1 GiB at most; spool_max in "
                     "the config) while the server is away or slow, and a run sends first what "
                     "the last one left; implies --syslog")
          ->type_name("DIR");
}

void declare_format_options(CLI::App& app, command_line_flags& flags, const config& defaults) {
  flags.pattern.option =
      app.add_option("--log-pattern", flags.pattern.value,
                     "spdlog pattern, with %v (the text); see README for %L %N %k %w %J %Z %q")
          ->check([](const std::string& text) { return log_pattern_problem(text); });
  choice<log_format_kind>(app, "--format", flags.format, log_format_names, defaults.log.format,
                          "text: a line per message for people; json: a JSON object per line "
                          "for a collector; raw: the children's bytes as written, no prefix, no "
                          "reports");
  app.add_flag("--raw", flags.raw,
               "The children's output as they wrote it: no prefix, no reports of pipemux's "
               "(--format raw; concurrently's -r, which is --read-size here)");
  choice<color_choice>(
      app, "--color", flags.color, color_names, defaults.log.color,
      "Colour the log: auto = on a terminal, unless NO_COLOR is set (FORCE_COLOR forces it)");
  choice<timestamp_style>(app, "--timestamps", flags.timestamps, timestamp_names,
                          defaults.log.timestamps,
                          "Start each line with the time, the time since the start, or none");
  flags.ansi.option = add_choice<ansi_mode>(
      app, "--ansi", flags.ansi.value, ansi_names,
      "A child's own colours: keep, strip or escape them (default: keep when colouring, strip "
      "with --color never or NO_COLOR, else escape)");
}

void declare_program_options(CLI::App& app, command_line_flags& flags) {
  flags.names.option =
      one_value_each(app.add_option("--names", flags.names.value,
                                    "Names for the commands, in order (default: program name)"),
                     true);
  flags.names.option->type_name("NAME,...");
  flags.procfile.option = app.add_option(
      "-f,--procfile", flags.procfile.value,
      "Run the programs of a Procfile (NAME: COMMAND lines); a .env beside it is read "
      "(default: ./Procfile, when neither -c nor a COMMAND is given)");
  flags.port.option =
      app.add_option("--port", flags.port.value,
                     "PORT of the first program's first child; +100 per program, +1 per child "
                     "(with a Procfile: $PORT, else 5000)")
          ->check(CLI::Range(1, 65535));
  one_value_each(
      app.add_option("-e,--env-file", flags.env_files,
                     "Set the variables of FILE (.env syntax) in every child; repeatable"));
  one_value_each(app.add_option("-m,--formation", flags.selection.formation,
                                "How many children of each program: web=2,worker=3 (0: not run)"),
                 true)
      ->type_name("NAME=N,...");
  app.add_flag("--pty", flags.pty,
               "Give every child a pseudo-terminal for stdout and stderr (merged), as in a "
               "terminal");
  one_value_each(app.add_option("--hide", flags.hidden,
                                "Run these programs but log only their start and exit"),
                 true)
      ->type_name("NAME,...");
  one_value_each(app.add_option("--only", flags.selection.only, "Run only these programs"), true)
      ->type_name("NAME,...");
  one_value_each(app.add_option("--except", flags.selection.except, "Run all programs but these"),
                 true)
      ->type_name("NAME,...");
  app.add_option("command", flags.shell_commands,
                 "Run each COMMAND with /bin/sh -c instead of the configured programs; after --, "
                 "one command as an exact argv (no shell)");
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

void declare_spam_command(CLI::App& app, command_line_flags& flags) {
  flags.spam_command = app.add_subcommand(
      "spam", "The built-in producer: writes \"Spam 0\" ... \"Spam 4\", cycling");
  flags.spam_command->allow_extras(false);
  add_spam_options(*flags.spam_command, flags.spam.options);
  flags.spam_command->add_option(
      "--index", flags.spam.index,
      "Child index shown in --sequence mode (default: $PIPEMUX_CHILD_INDEX)");
  flags.spam_command->add_option(
      "--record", flags.spam.record_prefix,
      "Save how many messages were written to PREFIX<index>, even when stopped by a signal");
}

// `pipemux check -c FILE ...`: the run's own flags, given before or after the word.
void declare_check_command(CLI::App& app, command_line_flags& flags) {
  flags.check_command = app.add_subcommand(
      "check",
      "Load the config, Procfile and env files as a run would, say what would run, start "
      "nothing; exit 2 naming every program that cannot start");
  flags.check_command->fallthrough();
}

}  // namespace

bool given(const CLI::Option* option) {
  return option != nullptr && option->count() > 0;
}

void declare_options(CLI::App& app, command_line_flags& flags) {
  const config defaults;
  flags.config_path.option = app.add_option("-c,--config", flags.config_path.value,
                                            "TOML config file (see config/pipemux.toml)")
                                 ->check(CLI::ExistingFile);
  declare_run_options(app, flags, defaults);
  declare_output_options(app, flags);
  declare_format_options(app, flags, defaults);
  declare_program_options(app, flags);
  declare_spam_command(app, flags);
  declare_check_command(app, flags);
}

}  // namespace pipemux::cli
