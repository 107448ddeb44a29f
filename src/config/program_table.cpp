#include "config/config_reader.hpp"
#include "pipemux/name_escape.hpp"
#include "pipemux/shell_command.hpp"

namespace pipemux::detail {

namespace {

// `name` (it labels every log line) and `command` (a shell line, or an argv).
void read_name_and_command(const config_reader& reader, const toml::table& table,
                           const std::string& prefix, program_spec& spec) {
  if (const auto* name = table.get("name")) spec.name = reader.string(*name, prefix + "name");
  if (spec.name.empty())
    reader.fail(table.source(), prefix + "name", "every program needs a non-empty name");
  // The name labels every log line: a newline, an escape sequence or a RIGHT-TO-LEFT OVERRIDE
  // in it would forge lines or reach the terminal raw.
  if (name_needs_escape(spec.name))
    reader.fail(table.get("name")->source(), prefix + "name",
                "must be printable text, without control characters (bidirectional ones too) or "
                "backslashes (got \"" +
                    escaped_name(spec.name) + "\")");
  const auto* command = table.get("command");
  if (command == nullptr)
    reader.fail(table.source(), prefix + "command",
                "missing: a shell command line (\"npm run api\") or an argv ([\"sleep\", \"1\"])");
  if (command->as_string() != nullptr) {  // run by /bin/sh -c, as in a Procfile
    std::string line = reader.c_string(*command, prefix + "command");
    if (is_blank_command_line(line))
      reader.fail(command->source(), prefix + "command", "must name a program to run");
    spec.argv = shell_program(std::move(line)).argv;
  } else {
    if (command->as_array() == nullptr)
      reader.fail(
          command->source(), prefix + "command",
          "expected a string (a shell command line) or an array of strings (an argv), got " +
              config_reader::type_name(*command));
    spec.argv = reader.c_strings(*command, prefix + "command");
  }
  if (spec.argv.empty() || spec.argv[0].empty())
    reader.fail(command->source(), prefix + "command", "must name a program to run");
}

// `env`, and `env_file` (read by load_config_file, not here).
void read_environment(const config_reader& reader, const toml::table& table,
                      const std::string& prefix, const std::string& source, program_spec& spec,
                      std::vector<std::pair<std::string, std::filesystem::path>>& env_files) {
  // Read by load_config_file, not here: parsing a text reads no other file. A relative path
  // is from the config's directory.
  if (const auto* file = table.get("env_file")) {
    std::filesystem::path path = reader.c_string(*file, prefix + "env_file");
    if (path.empty()) reader.fail(file->source(), prefix + "env_file", "must not be empty");
    if (path.is_relative()) path = std::filesystem::path(source).parent_path() / path;
    env_files.emplace_back(spec.name, std::move(path));
  }
  if (const auto* env = table.get("env"))
    for (auto&& [key, value] : reader.table(*env, prefix + "env")) {
      const std::string name(key.str());
      // "A=B" = "1" would give the child A="B=1": not what was written.
      if (name.empty() || name.find('=') != std::string::npos ||
          name.find('\0') != std::string::npos)
        reader.fail(key.source(), prefix + "env." + escaped(name),
                    "not a valid environment variable name (empty, or holds '=' or NUL)");
      std::string key_name = prefix + "env.";
      key_name += name;
      spec.environment.emplace_back(name, reader.c_string(value, key_name));
    }
}

// How its lines are logged: `color`, `log_streams`, and its own `output` file.
void read_logging(const config_reader& reader, const toml::table& table, const std::string& prefix,
                  const std::string& source, const std::string& name, log_options& log) {
  if (const auto* color = table.get("color"))
    log.program_colors.emplace_back(
        name, choice<std::uint8_t>(reader, *color, prefix + "color", label_color_names));
  if (const auto* streams = table.get("log_streams"))
    log.program_streams.emplace_back(
        name, choice<shown_streams>(reader, *streams, prefix + "log_streams", shown_stream_names));
  if (const auto* n = table.get("output")) {
    log_sink_options file;
    file.path = reader.c_string(*n, prefix + "output");
    file.origin = fmt::format("{}:{}:{}: {}output", source, n->source().begin.line,
                              n->source().begin.column, prefix);
    if (file.to_stdout())
      reader.fail(
          n->source(), prefix + "output",
          "must be a file (\"logs/{name}.{index}.log\"): the run's log is standard output's");
    try {
      child_output_path(file.path, name, 0, 0);
    } catch (const std::invalid_argument& e) {
      reader.fail(n->source(), prefix + "output", e.what());
    }
    log.program_outputs.emplace_back(name, std::move(file));
  }
}

}  // namespace

program_spec parse_program(const config_reader& reader, const toml::table& table,
                           const std::string& prefix, const std::string& source, log_options& log,
                           std::vector<std::pair<std::string, std::filesystem::path>>& env_files) {
  reader.only_keys(table, prefix,
                   {"name", "command", "instances", "env", "env_file", "cwd", "restart", "color",
                    "log_streams", "stop_signal", "stop_grace", "stop_on", "success_codes", "pty",
                    "output", "depends_on", "on_dependency_failure", "ready", "alive"});
  program_spec spec;
  spec.instances = 0;  // unset: `children` decides (see config::resolved_programs)
  read_name_and_command(reader, table, prefix, spec);
  if (const auto* n = table.get("instances"))
    spec.instances = static_cast<std::size_t>(
        reader.integer(*n, prefix + "instances", 1, as_int(limits::max_children)));
  if (const auto* cwd = table.get("cwd"))
    spec.working_directory = reader.c_string(*cwd, prefix + "cwd");
  if (const auto* restart = table.get("restart"))
    spec.restart = parse_restart(reader, *restart, prefix + "restart");
  if (const auto* n = table.get("stop_signal"))
    spec.stop_signal = signal_number(reader, *n, prefix + "stop_signal");
  if (const auto* n = table.get("stop_grace"))
    spec.stop_grace = duration(reader, *n, prefix + "stop_grace");
  if (const auto* n = table.get("stop_on"))
    spec.stop_on = choice<stop_condition>(reader, *n, prefix + "stop_on", stop_on_names);
  if (const auto* n = table.get("success_codes"))
    spec.success_codes = exit_codes(reader, *n, prefix + "success_codes");
  if (const auto* n = table.get("pty")) spec.pty = reader.boolean(*n, prefix + "pty");
  read_environment(reader, table, prefix, source, spec, env_files);
  read_logging(reader, table, prefix, source, spec.name, log);
  read_readiness(reader, table, prefix, spec);
  return spec;
}

}  // namespace pipemux::detail
