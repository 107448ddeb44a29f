#include "pipemux/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>

#include "config/config_reader.hpp"
#include "config/document_checks.hpp"
#include "config/text_file.hpp"
#include "pipemux/env_file.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/name_escape.hpp"

namespace pipemux {

config_error::config_error(std::string source, std::size_t line, std::size_t column,
                           std::string key, std::string problem, bool syntax)
    : std::runtime_error(
          source +
          (line == 0 ? std::string() : ":" + std::to_string(line) + ":" + std::to_string(column)) +
          ": " + (key.empty() ? "" : key + ": ") + problem),
      source_(std::move(source)),
      line_(line),
      column_(column),
      key_(std::move(key)),
      problem_(std::move(problem)),
      syntax_(syntax) {}

namespace {

void read_spam_table(const detail::config_reader& reader, const toml::table& spam,
                     spam_options& out) {
  reader.only_keys(spam, "spam.", {"count", "interval", "payload", "sequence"});
  if (const auto* v = spam.get("count"))
    out.count = static_cast<std::uint64_t>(reader.integer(*v, "spam.count", 0, INT64_MAX));
  if (const auto* v = spam.get("interval"))
    out.interval = reader.seconds(*v, "spam.interval", 3600);
  if (const auto* v = spam.get("payload"))
    out.payload = static_cast<std::size_t>(reader.integer(*v, "spam.payload", 0, 1 << 20));
  if (const auto* v = spam.get("sequence")) out.sequence = reader.boolean(*v, "spam.sequence");
}

// The [[program]] tables replace the programs (and their log choices) of `cfg`.
void read_program_tables(const detail::config_reader& reader, const toml::node& programs,
                         const std::string& source, config& cfg) {
  const auto* list = programs.as_array();
  if (list == nullptr || !list->is_array_of_tables())
    reader.fail(programs.source(), "program", "expected [[program]] tables");
  cfg.programs.clear();
  cfg.log.program_colors.clear();
  cfg.log.program_streams.clear();
  cfg.log.program_outputs.clear();
  cfg.program_env_files.clear();
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string prefix = "program[" + std::to_string(i) + "].";
    program_spec spec = detail::parse_program(reader, *list->get(i)->as_table(), prefix, source,
                                              cfg.log, cfg.program_env_files);
    for (const auto& other : cfg.programs)
      if (other.name == spec.name)
        reader.fail(list->get(i)->source(), prefix + "name",
                    "\"" + escaped_name(spec.name) + "\" is used by another program");
    cfg.programs.push_back(std::move(spec));
  }
  detail::check_dependencies(reader, *list, cfg.programs);
}

}  // namespace

config parse_config(std::string_view text, const std::string& source, config base) {
  using detail::as_int;
  detail::refuse_deep_nesting(text, source);
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw config_error(source, e.source().begin.line, e.source().begin.column,
                       detail::key_on_line(text, e.source().begin.line),
                       std::string(e.description()), true);
  }
  const detail::config_reader reader(source);
  reader.only_keys(
      doc, "",
      {"read_size", "children", "framing", "max_line", "stderr", "stop_grace", "stop_signal",
       "stop_on", "restart", "restart_delay", "restart_max_delay", "max_restarts", "unbuffered_env",
       "cgroup", "max_processes", "log", "spam", "program"});
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
  if (const auto* n = doc.get("max_processes"))
    cfg.run.max_running = static_cast<std::size_t>(
        reader.integer(*n, "max_processes", 1, as_int(limits::max_children)));
  if (const auto* n = doc.get("unbuffered_env"))
    cfg.run.unbuffered_env = reader.boolean(*n, "unbuffered_env");
  if (const auto* n = doc.get("max_line"))
    cfg.run.max_line =
        static_cast<std::size_t>(reader.integer(*n, "max_line", 1, as_int(limits::max_line)));
  if (const auto* n = doc.get("stop_grace"))
    cfg.run.stop_grace = duration(reader, *n, "stop_grace");
  if (const auto* n = doc.get("log"))
    detail::parse_log_table(reader, reader.table(*n, "log"), source, cfg.log);
  if (const auto* n = doc.get("spam")) read_spam_table(reader, reader.table(*n, "spam"), cfg.spam);
  if (const auto* n = doc.get("program")) read_program_tables(reader, *n, source, cfg);
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
