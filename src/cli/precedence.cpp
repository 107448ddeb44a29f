#include "precedence.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

#include "pipemux/env_file.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/name_escape.hpp"
#include "pipemux/procfile.hpp"
#include "pipemux/seconds.hpp"
#include "pipemux/shell_command.hpp"
#include "pipemux/stop_signal.hpp"
#include "report.hpp"

namespace pipemux::cli {
namespace {

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

// -o [FORMAT:]PATH, each: "json:run.jsonl", "text:-", "run.log". Only a known format's name
// is a prefix, so "./json:x" is a file with a colon in its name. An empty path would mean
// standard output in silence: refused.
std::vector<log_sink_options> sinks_from_flags(const std::vector<std::string>& outputs) {
  std::vector<log_sink_options> sinks;
  for (const std::string& output : outputs) {
    if (output.empty()) throw usage_error("-o '': no file given (- is standard output)");
    log_sink_options sink;
    sink.path = output;
    sink.origin = "--output";
    for (const auto& [name, kind] : log_format_names)
      if (output.size() > name.size() && output.starts_with(name) && output[name.size()] == ':') {
        sink.format = kind;
        sink.path = output.substr(name.size() + 1);
        if (sink.path.empty())
          throw usage_error(
              fmt::format("-o {0}:: no file after '{0}:' ({0}:- is standard output)", name));
      }
    sinks.push_back(std::move(sink));
  }
  return sinks;
}

void apply_run_flags(const command_line_flags& flags, config& cfg) {
  run_options& run = cfg.run;
  if (flags.read_size) run.read_size = flags.read_size.value;
  if (flags.framing) run.framing = flags.framing.value;
  if (flags.stderr_handling) run.stderr_handling = flags.stderr_handling.value;
  if (flags.stop_signal) run.stop_signal = *parse_signal(flags.stop_signal.value);
  if (flags.stop_on) run.stop_on = flags.stop_on.value;
  if (flags.cgroup) run.cgroup = flags.cgroup.value;
  if (flags.restart) run.restart.mode = flags.restart.value;
  if (flags.max_restarts) run.restart.max_restarts = flags.max_restarts.value;
  if (flags.max_processes) run.max_running = flags.max_processes.value;
  if (flags.max_line) run.max_line = flags.max_line.value;
  if (flags.stop_grace) run.stop_grace = *decimal_seconds_to_milliseconds(flags.stop_grace.value);
  if (flags.pty) cfg.pty = true;
}

log_sink_options syslog_sink_from_flags(const command_line_flags& flags) {
  log_sink_options sink;
  sink.kind = sink_kind::syslog;
  sink.address = *parse_syslog_address(flags.syslog_to.value);
  sink.facility = flags.syslog_facility.value;
  sink.max_message = flags.syslog_max_message.value;
  sink.tls = {flags.syslog_tls_ca.value, flags.syslog_tls_cert.value, flags.syslog_tls_key.value};
  if (const auto tls = syslog_tls_problem(sink.address, sink.tls); !tls.empty())
    throw usage_error("--syslog-tls-ca/-cert/-key: " + tls);
  if (const auto too_long = syslog_max_message_problem(sink.address, sink.max_message);
      !too_long.empty())
    throw usage_error("--syslog-max-message: " + too_long);
  sink.spool = flags.syslog_spool.value;
  if (flags.syslog_spool && sink.spool.empty())
    throw usage_error("--syslog-spool: must not be empty: a directory");
  sink.origin = "--syslog";
  return sink;
}

// -o, --journal and --syslog replace the file's sinks.
void apply_output_flags(const command_line_flags& flags, log_options& log) {
  const bool syslog = flags.syslog || flags.syslog_to || flags.syslog_facility ||
                      flags.syslog_max_message || flags.syslog_tls_ca || flags.syslog_tls_cert ||
                      flags.syslog_tls_key || flags.syslog_spool;
  if (!flags.outputs && !flags.journal && !syslog) return;
  log.sinks = sinks_from_flags(flags.outputs.value);
  if (syslog) log.sinks.push_back(syslog_sink_from_flags(flags));
  if (flags.journal) {
    log_sink_options sink;
    sink.kind = sink_kind::journal;
    sink.origin = "--journal";
    log.sinks.push_back(std::move(sink));
  }
}

void apply_format_flags(const command_line_flags& flags, log_options& log) {
  if (flags.pattern && flags.timestamps)
    throw usage_error(
        "--timestamps picks one of the built-in patterns: give --log-pattern or --timestamps, "
        "not both (%q in a pattern is the time since the start)");
  if (flags.pattern) log.pattern = flags.pattern.value;  // a flag wins over the file's choice
  if (flags.timestamps) {
    log.timestamps = flags.timestamps.value;
    log.pattern.clear();
  }
  if (flags.color) log.color = flags.color.value;
  if (flags.raw && flags.format && flags.format.value != log_format_kind::raw)
    throw usage_error("--raw is --format raw: give one of them");
  if (flags.format) log.format = flags.format.value;
  if (flags.raw) log.format = log_format_kind::raw;
  const auto is_text = [&log](const log_sink_options& sink) {
    return sink.format.value_or(log.format) == log_format_kind::text;
  };
  const bool any_text = log.sinks.empty()
                            ? log.format == log_format_kind::text
                            : std::any_of(log.sinks.begin(), log.sinks.end(), is_text);
  if (!any_text && !log.pattern.empty())
    throw usage_error(
        "a log pattern is for text: JSON lines have their own fields and raw output none (give "
        "--format json, --raw or a pattern, not both)");
  if (flags.ansi && log.format == log_format_kind::raw)
    throw usage_error("--ansi is for text: raw output is the children's bytes as they are");
  if (flags.ansi) log.ansi = flags.ansi.value;
}

std::size_t command_count(const command_line_flags& flags,
                          const std::vector<std::string>& exact_argv) {
  return flags.shell_commands.size() + (exact_argv.empty() ? 0 : 1);
}

// The COMMANDs and their --names, before any file is read (as the flags are checked first).
void check_commands(const command_line_flags& flags, const std::vector<std::string>& exact_argv) {
  if (const std::string problem = blank_command(flags.shell_commands, exact_argv); !problem.empty())
    throw usage_error(problem);
  if (!flags.names) return;
  if (const std::string problem = check_names(flags.names.value, command_count(flags, exact_argv));
      !problem.empty())
    throw usage_error(problem);
}

// The Procfile to run: -f's, or ./Procfile when nothing else says what to run (no -c, no
// COMMAND), as `foreman start` and `honcho start` do.
std::optional<std::filesystem::path> procfile_to_run(const command_line_flags& flags,
                                                     std::size_t commands) {
  if (flags.procfile) return std::filesystem::path(flags.procfile.value);
  std::error_code ignored;
  if (!flags.config_path && commands == 0 && std::filesystem::is_regular_file("Procfile", ignored))
    return std::filesystem::path("Procfile");
  return std::nullopt;
}

// COMMANDs (or `-- argv`) or a Procfile replace the configured programs.
void choose_programs(const command_line_flags& flags,
                     const std::optional<std::filesystem::path>& procfile,
                     std::vector<std::string> exact_argv, config& cfg) {
  const std::size_t commands = command_count(flags, exact_argv);
  if (procfile) {
    if (commands > 0) throw usage_error("--procfile and COMMANDs: give one or the other");
    cfg.programs = load_procfile(*procfile);
  }
  if (commands > 0)
    cfg.programs =
        command_line_programs(flags.shell_commands, std::move(exact_argv), flags.names.value);
}

// --env-file, in order; without one, a .env beside the Procfile if there is one (as honcho
// and foreman read it); nothing else is read implicitly.
void read_env_files(const command_line_flags& flags,
                    const std::optional<std::filesystem::path>& procfile, config& cfg) {
  std::vector<std::filesystem::path> env_paths(flags.env_files.begin(), flags.env_files.end());
  if (env_paths.empty() && procfile) {
    const auto beside = procfile->parent_path() / ".env";
    std::error_code ignored;
    if (std::filesystem::exists(beside, ignored)) env_paths.push_back(beside);
  }
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
}

// A PORT value from an env file or the environment, as a port number.
int port_number(const std::string& text, const std::string& where) {
  int port = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc{} || end != text.data() + text.size() || port < 1 || port > 65535)
    throw usage_error(fmt::format("PORT={} {}: not a port number (1-65535)", escaped(text), where));
  return port;
}

// PORT for each child as foreman sets it: the base for the first program, +100 for each next
// one in the order given (a Procfile's, before --only or -m), +1 for each child of a program.
// With a Procfile, or wherever --port is given. The base: --port, else a PORT from the env
// files (which then is the base, not every child's PORT), else pipemux's own, else 5000.
void assign_ports(const command_line_flags& flags, bool procfile, config& cfg) {
  if (!procfile && !flags.port) return;
  int base = 5000;
  const auto is_port = [](const auto& variable) { return variable.first == "PORT"; };
  const auto from_file = std::find_if(cfg.environment.rbegin(), cfg.environment.rend(), is_port);
  if (flags.port)
    base = flags.port.value;
  else if (from_file != cfg.environment.rend())
    base = port_number(from_file->second, "in an env file");
  else if (const auto own = environment_lookup("PORT"); own && !own->empty())
    base = port_number(*own, "in pipemux's environment");
  std::erase_if(cfg.environment, is_port);
  for (std::size_t i = 0; i < cfg.programs.size(); ++i)
    cfg.programs[i].port = base + static_cast<int>(i) * 100;
}

// Each child's PORT must be a port: known once -m and -n have said how many children run.
void check_ports(const config& cfg) {
  for (const auto& spec : cfg.resolved_programs())
    if (spec.port && spec.instances > 0 &&
        *spec.port + static_cast<long long>(spec.instances) - 1 > 65535)
      throw usage_error(fmt::format("PORT: program '{}' would get ports {} to {}, past 65535",
                                    escaped_name(spec.name), *spec.port,
                                    *spec.port + static_cast<long long>(spec.instances) - 1));
}

// -n, --only/--except/-m and --hide, once the programs are known.
void select_programs(const command_line_flags& flags, config& cfg) {
  if (flags.children) {  // the flag wins over every instance count in the file
    cfg.children = flags.children.value;
    for (auto& spec : cfg.programs) spec.instances = 0;
  }
  if (const std::string problem = apply_selection(cfg.programs, flags.selection); !problem.empty())
    throw usage_error(problem);
  if (const std::string problem = check_hidden(cfg.programs, flags.hidden); !problem.empty())
    throw usage_error(problem);
  for (const auto& name : flags.hidden)
    cfg.log.program_streams.emplace_back(name, shown_streams::none);
  std::size_t total = 0;
  for (const auto& spec : cfg.resolved_programs()) total += spec.instances;
  if (total > limits::max_children)
    throw usage_error(
        fmt::format("{} children in all; at most {} are supported", total, limits::max_children));
}

}  // namespace

config config_from_flags(const command_line_flags& flags, std::vector<std::string> exact_argv) {
  check_commands(flags, exact_argv);
  try {
    const auto procfile = procfile_to_run(flags, command_count(flags, exact_argv));
    config defaults;
    // foreman's: when one process of a Procfile exits, everything stops (a config file's
    // stop_on, or --stop-on, still says otherwise).
    if (procfile) defaults.run.stop_on = stop_condition::any_exit;
    config cfg = flags.config_path ? load_config_file(flags.config_path.value, defaults) : defaults;
    apply_run_flags(flags, cfg);
    apply_output_flags(flags, cfg.log);
    apply_format_flags(flags, cfg.log);
    choose_programs(flags, procfile, std::move(exact_argv), cfg);
    read_env_files(flags, procfile, cfg);
    assign_ports(flags, procfile.has_value(), cfg);
    select_programs(flags, cfg);
    check_ports(cfg);
    return cfg;
  } catch (const config_error& e) {  // the config file, a Procfile or an env file
    throw usage_error(e.what());
  }
}

}  // namespace pipemux::cli
