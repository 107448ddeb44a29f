// Reading one TOML document: every value checked, every mistake a config_error at its place
// ("pipemux.toml:3:13: read_size: must be between 1 and 16777216"). Shared by the tables'
// parsers (config.cpp, log_table.cpp, program_table.cpp).
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/config.hpp"
#include "pipemux/escape.hpp"

namespace pipemux::detail {

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

/// A size in bytes: an integer, or a string with a binary suffix: "512K", "10M", "1G".
std::uint64_t byte_size(const config_reader& reader, const toml::node& node,
                        const std::string& key);

restart_mode parse_restart(const config_reader& reader, const toml::node& node,
                           const std::string& key);

/// Rounded to the millisecond as --stop-grace is (see seconds.hpp).
std::chrono::milliseconds duration(const config_reader& reader, const toml::node& node,
                                   const std::string& key);

/// A list of exit codes (0-255).
std::vector<int> exit_codes(const config_reader& reader, const toml::node& node,
                            const std::string& key);

/// A stop signal, by name or number.
int signal_number(const config_reader& reader, const toml::node& node, const std::string& key);

/// One [[log.sink]] table (log_table.cpp).
log_sink_options parse_sink(const config_reader& reader, const toml::table& table,
                            const std::string& prefix, const std::string& source);
/// The [log] table over `log` (log_table.cpp).
void parse_log_table(const config_reader& reader, const toml::table& table,
                     const std::string& source, log_options& log);
/// One [[program]] table; its label colour, streams and own output go into `log`, its env file
/// into `env_files` (program_table.cpp).
program_spec parse_program(const config_reader& reader, const toml::table& table,
                           const std::string& prefix, const std::string& source, log_options& log,
                           std::vector<std::pair<std::string, std::filesystem::path>>& env_files);

/// A [[program]]'s depends_on, on_dependency_failure, ready and alive (readiness_table.cpp).
void read_readiness(const config_reader& reader, const toml::table& table,
                    const std::string& prefix, program_spec& spec);
/// Every program read: each dependency names another program, and there is no cycle.
void check_dependencies(const config_reader& reader, const toml::array& tables,
                        std::span<const program_spec> programs);

}  // namespace pipemux::detail
