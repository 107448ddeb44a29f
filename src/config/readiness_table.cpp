// A [[program]]'s `depends_on`, `on_dependency_failure`, and its [program.ready] and
// [program.alive] probe tables; and, once every program is read, the names and cycles of the
// dependencies, each mistake at its place in the file.
#include "config/config_reader.hpp"
#include "pipemux/name_escape.hpp"
#include "readiness/dependency_state.hpp"
#include "readiness/probe_target.hpp"

namespace pipemux::detail {

namespace {

probe read_probe(const config_reader& reader, const toml::node& node, const std::string& key,
                 bool liveness, std::size_t* failures) {
  const auto& table = reader.table(node, key);
  const std::string prefix = key + ".";
  if (liveness) {
    if (const auto* log = table.get("log"))
      reader.fail(log->source(), prefix + "log",
                  "a log probe cannot tell a program stopped answering: use tcp, exec or http");
    reader.only_keys(table, prefix,
                     {"tcp", "exec", "http", "interval", "timeout", "initial_delay", "failures"});
  } else
    reader.only_keys(table, prefix,
                     {"log", "tcp", "exec", "http", "interval", "timeout", "initial_delay"});
  probe out;
  if (liveness) out.timeout = std::chrono::milliseconds(1000);
  const toml::node* target = nullptr;
  for (const auto& [name, kind] : probe_kind_names) {
    const auto* value = table.get(name);
    if (value == nullptr) continue;
    if (target != nullptr)
      reader.fail(value->source(), prefix + std::string(name),
                  "one probe per table: log, tcp, exec or http");
    target = value;
    out.kind = kind;
    out.target = reader.c_string(*value, prefix + std::string(name));
    if (const std::string problem = target_problem(kind, out.target); !problem.empty())
      reader.fail(value->source(), prefix + std::string(name), problem);
  }
  if (target == nullptr)
    reader.fail(table.source(), key,
                liveness
                    ? "needs a probe: tcp = \"HOST:PORT\", exec = \"COMMAND\" or http = \"URL\""
                    : "needs a probe: log = \"REGEX\", tcp = \"HOST:PORT\", exec = "
                      "\"COMMAND\" or http = \"URL\"");
  const auto positive = [&](const char* name, std::chrono::milliseconds& into) {
    const auto* value = table.get(name);
    if (value == nullptr) return;
    into = duration(reader, *value, prefix + name);
    if (into.count() == 0) reader.fail(value->source(), prefix + name, "must be more than 0");
  };
  positive("interval", out.interval);
  positive("timeout", out.timeout);
  if (const auto* value = table.get("initial_delay"))
    out.initial_delay = duration(reader, *value, prefix + "initial_delay");
  if (const auto* value = table.get("failures"); value != nullptr && failures != nullptr)
    *failures = static_cast<std::size_t>(reader.integer(*value, prefix + "failures", 1, 1000));
  return out;
}

}  // namespace

void read_readiness(const config_reader& reader, const toml::table& table,
                    const std::string& prefix, program_spec& spec) {
  if (const auto* deps = table.get("depends_on")) {
    const std::string key = prefix + "depends_on";
    if (const auto* names = deps->as_array()) {  // ["db", "cache"]: each ready
      for (const auto& name : reader.c_strings(*names, key))
        spec.depends_on.push_back({name, dependency_condition::ready});
    } else if (deps->as_table() != nullptr) {  // { db = "ready", migrate = "completed" }
      for (auto&& [name, condition] : *deps->as_table())
        spec.depends_on.push_back(
            {std::string(name.str()),
             choice<dependency_condition>(reader, condition, key + "." + std::string(name.str()),
                                          dependency_condition_names)});
    } else {
      reader.fail(deps->source(), key,
                  "expected a table ({ db = \"ready\" }) or an array of program names, got " +
                      config_reader::type_name(*deps));
    }
  }
  if (const auto* action = table.get("on_dependency_failure"))
    spec.on_dependency_failure = choice<dependency_failure>(
        reader, *action, prefix + "on_dependency_failure", dependency_failure_names);
  if (const auto* ready = table.get("ready"))
    spec.ready = read_probe(reader, *ready, prefix + "ready", false, nullptr);
  if (const auto* alive = table.get("alive"))
    spec.alive = read_probe(reader, *alive, prefix + "alive", true, &spec.alive_failures);
}

void check_dependencies(const config_reader& reader, const toml::array& tables,
                        std::span<const program_spec> programs) {
  std::size_t where = 0;
  const std::string problem = dependency_problem(programs, where);
  if (problem.empty()) return;
  const auto& table = *tables.get(where)->as_table();
  const auto* deps = table.get("depends_on");
  reader.fail(deps != nullptr ? deps->source() : table.source(),
              "program[" + std::to_string(where) + "].depends_on",
              "'" + escaped_name(programs[where].name) + "' " + problem);
}

}  // namespace pipemux::detail
