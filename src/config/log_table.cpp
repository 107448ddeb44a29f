#include <fmt/format.h>

#include "config/config_reader.hpp"
#include "pipemux/log_pattern_check.hpp"

namespace pipemux::detail {

namespace {

// A disk spool for the sink: a directory, and how much it may hold.
void parse_spool(const config_reader& reader, const toml::table& table, const std::string& prefix,
                 log_sink_options& sink) {
  const auto* dir = table.get("spool");
  if (dir != nullptr) {
    sink.spool = reader.c_string(*dir, prefix + "spool");
    if (sink.spool.empty())
      reader.fail(dir->source(), prefix + "spool", "must not be empty: a directory");
  }
  if (const auto* max = table.get("spool_max")) {
    if (dir == nullptr)
      reader.fail(max->source(), prefix + "spool_max", "needs spool (a directory)");
    sink.spool_max = byte_size(reader, *max, prefix + "spool_max");
    if (sink.spool_max < min_spool_max)
      reader.fail(max->source(), prefix + "spool_max", "must be 1M at least");
  }
}

// A syslog sink's keys: RFC 5424 messages to a socket or a server, over TCP or RELP with TLS,
// through a disk spool.
void parse_syslog_sink(const config_reader& reader, const toml::table& table,
                       const std::string& prefix, log_sink_options& sink) {
  for (auto&& [key, node] : table)
    if (key.str() != "type" && key.str() != "address" && key.str() != "facility" &&
        key.str() != "max_message" && !key.str().starts_with("tls_") &&
        !key.str().starts_with("spool"))  // checked below
      reader.fail(key.source(), prefix + std::string(key.str()),
                  "is for a file: syslog takes an address, a facility, a max_message, "
                  "tls_ca, tls_cert, tls_key, spool and spool_max");
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
  const toml::node* first_tls = nullptr;
  for (auto&& [key, node] : table) {
    std::string* file = key.str() == "tls_ca"     ? &sink.tls.ca
                        : key.str() == "tls_cert" ? &sink.tls.cert
                        : key.str() == "tls_key"  ? &sink.tls.key
                                                  : nullptr;
    if (file == nullptr) continue;
    *file = reader.c_string(node, prefix + std::string(key.str()));
    if (first_tls == nullptr) first_tls = &node;
  }
  if (const std::string problem = syslog_tls_problem(sink.address, sink.tls); !problem.empty())
    reader.fail(first_tls->source(), prefix + "tls", problem);
  parse_spool(reader, table, prefix, sink);
}

}  // namespace

// One [[log.sink]] table.
log_sink_options parse_sink(const config_reader& reader, const toml::table& table,
                            const std::string& prefix, const std::string& source) {
  reader.only_keys(
      table, prefix,
      {"type", "path", "format", "rotate", "max_size", "max_files", "address", "facility",
       "max_message", "tls_ca", "tls_cert", "tls_key", "spool", "spool_max"});
  log_sink_options sink;
  if (const auto* type = table.get("type")) {
    sink.kind = choice<sink_kind>(reader, *type, prefix + "type", sink_kind_names);
    sink.origin = fmt::format("{}:{}:{}: {}type", source, type->source().begin.line,
                              type->source().begin.column, prefix);
  }
  if (sink.kind == sink_kind::syslog) {
    parse_syslog_sink(reader, table, prefix, sink);
    return sink;
  }
  if (sink.kind == sink_kind::journal) {  // native entries: fields, no format, no file
    for (auto&& [key, node] : table)
      if (key.str() != "type")
        reader.fail(key.source(), prefix + std::string(key.str()),
                    "is for a file: the journal takes fields, not a format or a path");
    return sink;
  }
  for (const char* tls : {"tls_ca", "tls_cert", "tls_key"})
    if (const auto* node = table.get(tls))
      reader.fail(node->source(), prefix + tls, "is for a syslog sink over tls:// or relp://");
  for (const char* spool : {"spool", "spool_max"})
    if (const auto* node = table.get(spool))
      reader.fail(node->source(), prefix + spool, "is for a syslog sink: a file needs no spool");
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

void parse_log_table(const config_reader& reader, const toml::table& log, const std::string& source,
                     log_options& out) {
  reader.only_keys(log, "log.",
                   {"format", "pattern", "output", "sink", "timestamps", "color", "ansi",
                    "force_color_children"});
  if (const auto* p = log.get("pattern")) {
    out.pattern = reader.string(*p, "log.pattern");
    if (out.pattern.empty()) reader.fail(p->source(), "log.pattern", "must not be empty");
    if (const std::string problem = log_pattern_problem(out.pattern); !problem.empty())
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
    out.sinks = {std::move(sink)};
  }
  if (const auto* sink_node = log.get("sink")) {
    const auto* list = sink_node->as_array();
    if (list == nullptr || !list->is_array_of_tables())
      reader.fail(sink_node->source(), "log.sink", "expected [[log.sink]] tables");
    out.sinks.clear();
    for (std::size_t i = 0; i < list->size(); ++i)
      out.sinks.push_back(parse_sink(reader, *list->get(i)->as_table(),
                                     "log.sink[" + std::to_string(i) + "].", source));
  }
  if (const auto* t = log.get("timestamps")) {
    if (log.get("pattern") != nullptr)
      reader.fail(t->source(), "log.timestamps",
                  "picks one of the built-in patterns: give log.pattern or log.timestamps, not "
                  "both (%q in a pattern is the time since the start)");
    out.timestamps = choice<timestamp_style>(reader, *t, "log.timestamps", timestamp_names);
  }
  if (const auto* f = log.get("format"))
    out.format = choice<log_format_kind>(reader, *f, "log.format", log_format_names);
  if (const auto* c = log.get("color"))
    out.color = choice<color_choice>(reader, *c, "log.color", color_names);
  if (const auto* a = log.get("ansi"))
    out.ansi = choice<ansi_mode>(reader, *a, "log.ansi", ansi_names);
  if (const auto* f = log.get("force_color_children"))
    out.force_color_children = reader.boolean(*f, "log.force_color_children");
}

}  // namespace pipemux::detail
