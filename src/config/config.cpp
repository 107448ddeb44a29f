#include "pipemux/config.hpp"
#include "config/text_file.hpp"
#include "pipemux/env_file.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/log_pattern_check.hpp"
#include "pipemux/name_escape.hpp"
#include "pipemux/seconds.hpp"
#include "pipemux/shell_command.hpp"
#include "pipemux/stop_signal.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <sstream>

namespace pipemux {

config_error::config_error(std::string source, std::size_t line, std::size_t column,
                           std::string key, std::string problem)
    : std::runtime_error(
          source +
          (line == 0 ? std::string() : ":" + std::to_string(line) + ":" + std::to_string(column)) +
          ": " + (key.empty() ? "" : key + ": ") + problem),
      source_(std::move(source)),
      line_(line),
      column_(column),
      key_(std::move(key)),
      problem_(std::move(problem)) {}

namespace {

// Reads one document, turning every mistake into a config_error at the right place.
class config_reader {
 public:
  explicit config_reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& key,
                         const std::string& problem) const {
    throw config_error(source_, where.begin.line, where.begin.column, key, problem);
  }

  void only_keys(const toml::table& table, const std::string& prefix,
                 std::initializer_list<std::string_view> allowed) const {
    for (auto&& [key, node] : table) {
      bool known = false;
      for (auto name : allowed) known = known || key.str() == name;
      if (!known) fail(key.source(), prefix + std::string(key.str()), "unknown key");
    }
  }

  std::int64_t integer(const toml::node& node, const std::string& key, std::int64_t min,
                       std::int64_t max) const {
    const auto* value = node.as_integer();
    if (value == nullptr) fail(node.source(), key, "expected an integer, got " + type_name(node));
    const std::int64_t v = value->get();
    if (v < min || v > max)
      fail(node.source(), key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
               std::to_string(v) + ")");
    return v;
  }

  double seconds(const toml::node& node, const std::string& key, double max) const {
    double v = 0;
    if (const auto* i = node.as_integer())
      v = static_cast<double>(i->get());
    else if (const auto* f = node.as_floating_point())
      v = f->get();
    else
      fail(node.source(), key, "expected a number of seconds, got " + type_name(node));
    if (!(v >= 0 && v <= max))  // also rejects nan
      fail(node.source(), key,
           "must be between 0 and " + std::to_string(static_cast<long>(max)) + " seconds (got " +
               format_number(v) + ")");
    return v;
  }

  std::string string(const toml::node& node, const std::string& key) const {
    const auto* value = node.as_string();
    if (value == nullptr) fail(node.source(), key, "expected a string, got " + type_name(node));
    return value->get();
  }

  bool boolean(const toml::node& node, const std::string& key) const {
    const auto* value = node.as_boolean();
    if (value == nullptr)
      fail(node.source(), key, "expected true or false, got " + type_name(node));
    return value->get();
  }

  const toml::table& table(const toml::node& node, const std::string& key) const {
    const auto* value = node.as_table();
    if (value == nullptr) fail(node.source(), key, "expected a table, got " + type_name(node));
    return *value;
  }

  // A string the system takes as a C string (an argument, a path, a variable): a NUL byte in
  // it would cut it short in silence.
  std::string c_string(const toml::node& node, const std::string& key) const {
    std::string value = string(node, key);
    if (value.find('\0') != std::string::npos)
      fail(node.source(), key,
           "must not hold a NUL byte: the system would cut it there (got \"" + escaped(value) +
               "\")");
    return value;
  }

  std::vector<std::string> c_strings(const toml::node& node, const std::string& key) const {
    const auto* array = node.as_array();
    if (array == nullptr)
      fail(node.source(), key, "expected an array of strings, got " + type_name(node));
    std::vector<std::string> out;
    for (const auto& element : *array) out.push_back(c_string(element, key));
    return out;
  }

  static std::string type_name(const toml::node& node) {
    std::ostringstream name;
    name << node.type();
    return name.str();
  }

  static std::string format_number(double v) { return fmt::format("{}", v); }

 private:
  std::string source_;
};

constexpr std::int64_t as_int(std::size_t v) {
  return static_cast<std::int64_t>(v);
}

// A string that must be one of `choices`, each paired with its value.
template <class T>
T choice(const config_reader& reader, const toml::node& node, const std::string& key,
         std::span<const named<T>> choices) {
  const std::string value = reader.string(node, key);
  std::string names;
  for (const auto& [name, result] : choices) {
    if (value == name) return result;
    names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  reader.fail(node.source(), key, "must be one of " + names + " (got \"" + escaped(value) + "\")");
}

// A size in bytes: an integer, or a string with a binary suffix: "512K", "10M", "1G".
std::uint64_t byte_size(const config_reader& reader, const toml::node& node,
                        const std::string& key) {
  constexpr std::int64_t max = std::int64_t{1} << 50;
  if (node.as_integer() != nullptr)
    return static_cast<std::uint64_t>(reader.integer(node, key, 1, max));
  const auto* text = node.as_string();
  if (text == nullptr)
    reader.fail(node.source(), key,
                "expected a number of bytes or a string such as \"10M\", got " +
                    config_reader::type_name(node));
  const std::string& value = text->get();
  std::uint64_t number = 0;
  std::size_t digits = 0;
  while (digits < value.size() && digits < 16 && value[digits] >= '0' && value[digits] <= '9')
    number = number * 10 + static_cast<std::uint64_t>(value[digits++] - '0');
  const std::string_view suffix = std::string_view(value).substr(digits);
  int shift = -1;
  if (suffix.empty()) shift = 0;
  constexpr named<int> suffixes[] = {{"K", 10}, {"M", 20}, {"G", 30}};
  for (const auto& [name, bits] : suffixes)
    if (suffix == name) shift = bits;
  if (digits == 0 || shift < 0 || number == 0 || number > static_cast<std::uint64_t>(max) >> shift)
    reader.fail(node.source(), key,
                "expected a size from 1 byte to 1024 TiB, as bytes or with K, M or G (got \"" +
                    escaped(value) + "\")");
  return number << shift;
}

// One [[log.sink]] table.
log_sink_options parse_sink(const config_reader& reader, const toml::table& table,
                            const std::string& prefix, const std::string& source) {
  reader.only_keys(table, prefix,
                   {"type", "path", "format", "rotate", "max_size", "max_files", "address",
                    "facility", "max_message"});
  log_sink_options sink;
  if (const auto* type = table.get("type")) {
    sink.kind = choice<sink_kind>(reader, *type, prefix + "type", sink_kind_names);
    sink.origin = fmt::format("{}:{}:{}: {}type", source, type->source().begin.line,
                              type->source().begin.column, prefix);
  }
  if (sink.kind == sink_kind::syslog) {  // RFC 5424 messages to a socket
    for (auto&& [key, node] : table)
      if (key.str() != "type" && key.str() != "address" && key.str() != "facility" &&
          key.str() != "max_message")
        reader.fail(key.source(), prefix + std::string(key.str()),
                    "is for a file: syslog takes an address, a facility and a max_message");
    if (const auto* a = table.get("address")) {
      const std::string text = reader.c_string(*a, prefix + "address");
      const auto address = parse_syslog_address(text);
      if (!address)
        reader.fail(a->source(), prefix + "address",
                    syslog_address_problem(text) + " (got \"" + escaped(text) + "\")");
      sink.address = *address;
    }
    if (const auto* f = table.get("facility"))
      sink.facility = choice<int>(reader, *f, prefix + "facility", syslog_facility_names);
    if (const auto* m = table.get("max_message")) {
      const std::uint64_t bytes = byte_size(reader, *m, prefix + "max_message");
      const std::string problem = syslog_max_message_problem(sink.address, bytes);
      if (!problem.empty()) reader.fail(m->source(), prefix + "max_message", problem);
      sink.max_message = static_cast<std::size_t>(bytes);
    }
    return sink;
  }
  if (sink.kind == sink_kind::journal) {  // native entries: fields, no format, no file
    for (auto&& [key, node] : table)
      if (key.str() != "type")
        reader.fail(key.source(), prefix + std::string(key.str()),
                    "is for a file: the journal takes fields, not a format or a path");
    return sink;
  }
  const auto* path = table.get("path");
  if (path == nullptr)
    reader.fail(table.source(), prefix + "path", "missing: \"-\" for standard output, or a file");
  sink.path = reader.c_string(*path, prefix + "path");
  if (sink.path.empty())
    reader.fail(path->source(), prefix + "path", "must not be empty (\"-\" is standard output)");
  sink.origin = fmt::format("{}:{}:{}: {}path", source, path->source().begin.line,
                            path->source().begin.column, prefix);
  if (const auto* f = table.get("format"))
    sink.format = choice<log_format_kind>(reader, *f, prefix + "format", log_format_names);
  const auto* size = table.get("max_size");
  if (size != nullptr) {
    sink.max_size = byte_size(reader, *size, prefix + "max_size");
    sink.rotate = rotation_kind::size;
  }
  if (const auto* r = table.get("rotate")) {
    sink.rotate = choice<rotation_kind>(reader, *r, prefix + "rotate", rotation_names);
    if (sink.rotate == rotation_kind::size && size == nullptr)
      reader.fail(r->source(), prefix + "rotate", "size rotation needs max_size");
    if (sink.rotate != rotation_kind::size && size != nullptr)
      reader.fail(size->source(), prefix + "max_size",
                  "is for rotate = \"size\": a file rotates by size or by time, not both");
  }
  if (const auto* n = table.get("max_files")) {
    if (sink.rotate == rotation_kind::none)
      reader.fail(n->source(), prefix + "max_files",
                  "is for a rotated file: give max_size or rotate too");
    // spdlog's daily and hourly sinks count kept files in 16 bits.
    sink.max_files = static_cast<std::size_t>(reader.integer(*n, prefix + "max_files", 1, 65535));
  }
  if (sink.to_stdout() && sink.rotate != rotation_kind::none)
    reader.fail(path->source(), prefix + "path", "standard output cannot be rotated");
  return sink;
}

restart_mode parse_restart(const config_reader& reader, const toml::node& node,
                           const std::string& key) {
  return choice<restart_mode>(reader, node, key, restart_names);
}

// Rounded to the millisecond as --stop-grace is (see seconds.hpp).
std::chrono::milliseconds duration(const config_reader& reader, const toml::node& node,
                                   const std::string& key) {
  const double max = std::chrono::duration<double>(limits::max_stop_grace).count();
  return *seconds_to_milliseconds(reader.seconds(node, key, max));
}

// A list of exit codes (0-255).
std::vector<int> exit_codes(const config_reader& reader, const toml::node& node,
                            const std::string& key) {
  const auto* array = node.as_array();
  if (array == nullptr)
    reader.fail(node.source(), key,
                "expected an array of exit codes, got " + config_reader::type_name(node));
  std::vector<int> codes;
  for (const auto& element : *array)
    codes.push_back(static_cast<int>(reader.integer(element, key, 0, 255)));
  return codes;
}

int signal_number(const config_reader& reader, const toml::node& node, const std::string& key) {
  const std::string name = reader.string(node, key);
  const auto sig = parse_signal(name);
  if (!sig) reader.fail(node.source(), key, "not a signal: \"" + escaped(name) + "\"");
  if (const std::string problem = stop_signal_problem(*sig); !problem.empty())
    reader.fail(node.source(), key, problem + " (give SIGTERM, SIGINT, SIGQUIT, SIGHUP, ...)");
  return *sig;
}

program_spec parse_program(const config_reader& reader, const toml::table& table,
                           const std::string& prefix, const std::string& source, log_options& log,
                           std::vector<std::pair<std::string, std::filesystem::path>>& env_files) {
  reader.only_keys(
      table, prefix,
      {"name", "command", "instances", "env", "env_file", "cwd", "restart", "color", "log_streams",
       "stop_signal", "stop_grace", "stop_on", "success_codes", "pty", "output"});
  program_spec spec;
  spec.instances = 0;  // unset: `children` decides (see config::resolved_programs)
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
  if (const auto* n = table.get("instances"))
    spec.instances = static_cast<std::size_t>(
        reader.integer(*n, prefix + "instances", 1, as_int(limits::max_children)));
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
  if (const auto* cwd = table.get("cwd"))
    spec.working_directory = reader.c_string(*cwd, prefix + "cwd");
  if (const auto* restart = table.get("restart"))
    spec.restart = parse_restart(reader, *restart, prefix + "restart");
  if (const auto* color = table.get("color"))
    log.program_colors.emplace_back(
        spec.name, choice<std::uint8_t>(reader, *color, prefix + "color", label_color_names));
  if (const auto* streams = table.get("log_streams"))
    log.program_streams.emplace_back(
        spec.name,
        choice<shown_streams>(reader, *streams, prefix + "log_streams", shown_stream_names));
  if (const auto* n = table.get("stop_signal"))
    spec.stop_signal = signal_number(reader, *n, prefix + "stop_signal");
  if (const auto* n = table.get("stop_grace"))
    spec.stop_grace = duration(reader, *n, prefix + "stop_grace");
  if (const auto* n = table.get("stop_on"))
    spec.stop_on = choice<stop_condition>(reader, *n, prefix + "stop_on", stop_on_names);
  if (const auto* n = table.get("success_codes"))
    spec.success_codes = exit_codes(reader, *n, prefix + "success_codes");
  if (const auto* n = table.get("pty")) spec.pty = reader.boolean(*n, prefix + "pty");
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
      child_output_path(file.path, spec.name, 0, 0);
    } catch (const std::invalid_argument& e) {
      reader.fail(n->source(), prefix + "output", e.what());
    }
    log.program_outputs.emplace_back(spec.name, std::move(file));
  }
  return spec;
}

// toml++ builds (and destroys) one nested table per part of a dotted key, recursively: a key
// or header of 50,000 parts overflows the stack. pipemux's keys have at most three parts, so a
// line with more than max_dotted_parts dots outside strings and comments is refused before
// parsing.
constexpr std::size_t max_dotted_parts = 64;

void refuse_deep_nesting(std::string_view text, const std::string& source) {
  std::size_t line = 1, column = 0, dots = 0;
  char quote = 0;          // inside a string opened by this quote
  bool multiline = false;  // ... a triple-quoted one, which may span lines
  bool comment = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    ++column;
    if (ch == '\n') {
      ++line;
      column = 0;
      dots = 0;
      comment = false;
      if (!multiline) quote = 0;
      continue;
    }
    if (comment) continue;
    const bool triple = text.compare(i, 3, std::string(3, ch)) == 0;
    if (quote != 0) {
      if (ch == '\\' && quote == '"') {
        ++i;
        ++column;
      } else if (ch == quote && (!multiline || triple)) {
        if (multiline) i += 2;
        quote = 0;
        multiline = false;
      }
    } else if (ch == '#') {
      comment = true;
    } else if (ch == '"' || ch == '\'') {
      quote = ch;
      multiline = triple;
      if (multiline) i += 2;
    } else if (ch == '.' && ++dots > max_dotted_parts) {
      throw config_error(source, line, column, "",
                         "more than " + std::to_string(max_dotted_parts) +
                             " dots in keys on one line: tables nest too deep");
    }
  }
}

// The key a parse error is about, when its line is a plain "key = value" (a number too big,
// say): "log.output" for a line in a [log] table.
std::string key_on_line(std::string_view text, std::size_t wanted) {
  std::string table;
  std::size_t line = 1, from = 0;
  while (from <= text.size()) {
    const std::size_t end = std::min(text.find('\n', from), text.size());
    std::string_view current = text.substr(from, end - from);
    while (!current.empty() && (current.front() == ' ' || current.front() == '\t'))
      current.remove_prefix(1);
    const bool header = !current.empty() && current.front() == '[';
    if (line == wanted) {
      const auto equals = current.find('=');
      if (header || equals == std::string_view::npos) return {};
      std::string key(current.substr(0, equals));
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
      if (table.empty()) return key;
      return table.append(".").append(key);
    }
    if (header) {
      const auto close = current.find(']');
      table = std::string(current.substr(0, close == std::string_view::npos ? 0 : close));
      table.erase(0, std::min(table.size(), table.find_first_not_of("[ ")));
      while (!table.empty() && table.back() == ' ') table.pop_back();
    }
    ++line;
    from = end + 1;
  }
  return {};
}

}  // namespace

config parse_config(std::string_view text, const std::string& source, config base) {
  refuse_deep_nesting(text, source);
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw config_error(source, e.source().begin.line, e.source().begin.column,
                       key_on_line(text, e.source().begin.line), std::string(e.description()));
  }
  const config_reader reader(source);
  reader.only_keys(doc, "",
                   {"read_size", "children", "framing", "max_line", "stderr", "stop_grace",
                    "stop_signal", "stop_on", "restart", "restart_delay", "restart_max_delay",
                    "max_restarts", "unbuffered_env", "cgroup", "log", "spam", "program"});
  config cfg = std::move(base);
  if (const auto* n = doc.get("read_size"))
    cfg.run.read_size =
        static_cast<std::size_t>(reader.integer(*n, "read_size", 1, as_int(limits::max_read_size)));
  if (const auto* n = doc.get("children"))
    cfg.children =
        static_cast<std::size_t>(reader.integer(*n, "children", 1, as_int(limits::max_children)));
  if (const auto* n = doc.get("framing"))
    cfg.run.framing = choice<framing_mode>(reader, *n, "framing", framing_names);
  if (const auto* n = doc.get("stderr"))
    cfg.run.stderr_handling = choice<stderr_mode>(reader, *n, "stderr", stderr_names);
  if (const auto* n = doc.get("stop_signal"))
    cfg.run.stop_signal = signal_number(reader, *n, "stop_signal");
  if (const auto* n = doc.get("cgroup"))
    cfg.run.cgroup = choice<cgroup_mode>(reader, *n, "cgroup", cgroup_names);
  if (const auto* n = doc.get("stop_on"))
    cfg.run.stop_on = choice<stop_condition>(reader, *n, "stop_on", stop_on_names);
  if (const auto* n = doc.get("restart"))
    cfg.run.restart.mode = parse_restart(reader, *n, "restart");
  if (const auto* n = doc.get("restart_delay"))
    cfg.run.restart.initial_delay = duration(reader, *n, "restart_delay");
  if (const auto* n = doc.get("restart_max_delay"))
    cfg.run.restart.max_delay = duration(reader, *n, "restart_max_delay");
  if (const auto* n = doc.get("max_restarts"))
    cfg.run.restart.max_restarts = static_cast<std::size_t>(
        reader.integer(*n, "max_restarts", 0, as_int(limits::max_restarts)));
  if (const auto* n = doc.get("unbuffered_env"))
    cfg.run.unbuffered_env = reader.boolean(*n, "unbuffered_env");
  if (const auto* n = doc.get("max_line"))
    cfg.run.max_line =
        static_cast<std::size_t>(reader.integer(*n, "max_line", 1, as_int(limits::max_line)));
  if (const auto* n = doc.get("stop_grace"))
    cfg.run.stop_grace = duration(reader, *n, "stop_grace");
  if (const auto* n = doc.get("log")) {
    const auto& log = reader.table(*n, "log");
    reader.only_keys(log, "log.",
                     {"format", "pattern", "output", "sink", "timestamps", "color", "ansi",
                      "force_color_children"});
    if (const auto* p = log.get("pattern")) {
      cfg.log.pattern = reader.string(*p, "log.pattern");
      if (cfg.log.pattern.empty()) reader.fail(p->source(), "log.pattern", "must not be empty");
      if (const std::string problem = log_pattern_problem(cfg.log.pattern); !problem.empty())
        reader.fail(p->source(), "log.pattern", problem);
    }
    if (const auto* o = log.get("output")) {
      if (log.get("sink") != nullptr)
        reader.fail(o->source(), "log.output",
                    "is one sink: give log.output or [[log.sink]] tables, not both");
      log_sink_options sink;
      sink.path = reader.c_string(*o, "log.output");
      if (sink.path.empty())
        reader.fail(o->source(), "log.output", "must not be empty (\"-\" is standard output)");
      sink.origin = fmt::format("{}:{}:{}: log.output", source, o->source().begin.line,
                                o->source().begin.column);
      cfg.log.sinks = {std::move(sink)};
    }
    if (const auto* sink_node = log.get("sink")) {
      const auto* list = sink_node->as_array();
      if (list == nullptr || !list->is_array_of_tables())
        reader.fail(sink_node->source(), "log.sink", "expected [[log.sink]] tables");
      cfg.log.sinks.clear();
      for (std::size_t i = 0; i < list->size(); ++i)
        cfg.log.sinks.push_back(parse_sink(reader, *list->get(i)->as_table(),
                                           "log.sink[" + std::to_string(i) + "].", source));
    }
    if (const auto* t = log.get("timestamps")) {
      if (log.get("pattern") != nullptr)
        reader.fail(t->source(), "log.timestamps",
                    "picks one of the built-in patterns: give log.pattern or log.timestamps, not "
                    "both (%q in a pattern is the time since the start)");
      cfg.log.timestamps = choice<timestamp_style>(reader, *t, "log.timestamps", timestamp_names);
    }
    if (const auto* f = log.get("format"))
      cfg.log.format = choice<log_format_kind>(reader, *f, "log.format", log_format_names);
    if (const auto* c = log.get("color"))
      cfg.log.color = choice<color_choice>(reader, *c, "log.color", color_names);
    if (const auto* a = log.get("ansi"))
      cfg.log.ansi = choice<ansi_mode>(reader, *a, "log.ansi", ansi_names);
    if (const auto* f = log.get("force_color_children"))
      cfg.log.force_color_children = reader.boolean(*f, "log.force_color_children");
  }
  if (const auto* n = doc.get("spam")) {
    const auto& spam = reader.table(*n, "spam");
    reader.only_keys(spam, "spam.", {"count", "interval", "payload", "sequence"});
    if (const auto* v = spam.get("count"))
      cfg.spam.count = static_cast<std::uint64_t>(reader.integer(*v, "spam.count", 0, INT64_MAX));
    if (const auto* v = spam.get("interval"))
      cfg.spam.interval = reader.seconds(*v, "spam.interval", 3600);
    if (const auto* v = spam.get("payload"))
      cfg.spam.payload = static_cast<std::size_t>(reader.integer(*v, "spam.payload", 0, 1 << 20));
    if (const auto* v = spam.get("sequence"))
      cfg.spam.sequence = reader.boolean(*v, "spam.sequence");
  }
  if (const auto* n = doc.get("program")) {
    const auto* list = n->as_array();
    if (list == nullptr || !list->is_array_of_tables())
      reader.fail(n->source(), "program", "expected [[program]] tables");
    cfg.programs.clear();
    cfg.log.program_colors.clear();
    cfg.log.program_streams.clear();
    cfg.log.program_outputs.clear();
    cfg.program_env_files.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string prefix = "program[" + std::to_string(i) + "].";
      program_spec spec = parse_program(reader, *list->get(i)->as_table(), prefix, source, cfg.log,
                                        cfg.program_env_files);
      for (const auto& other : cfg.programs)
        if (other.name == spec.name)
          reader.fail(list->get(i)->source(), prefix + "name",
                      "\"" + escaped_name(spec.name) + "\" is used by another program");
      cfg.programs.push_back(std::move(spec));
    }
  }
  return cfg;
}

std::vector<program_spec> config::resolved_programs() const {
  std::vector<program_spec> out = programs;
  for (auto& spec : out) {
    if (spec.instances == 0) spec.instances = children;
    spec.pty = spec.pty || pty;
    spec.environment.insert(spec.environment.begin(), environment.begin(), environment.end());
  }
  return out;
}

config load_config_file(const std::filesystem::path& path, config base) {
  config cfg =
      parse_config(detail::read_text_file(path, "pipemux config"), path.string(), std::move(base));
  for (const auto& entry : cfg.program_env_files) {
    auto spec = std::find_if(cfg.programs.begin(), cfg.programs.end(),
                             [&entry](const program_spec& p) { return p.name == entry.first; });
    auto variables = load_env_file(entry.second);
    spec->environment.insert(spec->environment.begin(), variables.begin(), variables.end());
  }
  return cfg;
}

}  // namespace pipemux
