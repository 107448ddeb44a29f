#include "config/config_reader.hpp"

#include "pipemux/exit_status.hpp"
#include "pipemux/seconds.hpp"
#include "pipemux/stop_signal.hpp"

namespace pipemux::detail {

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

restart_mode parse_restart(const config_reader& reader, const toml::node& node,
                           const std::string& key) {
  return choice<restart_mode>(reader, node, key, restart_names);
}

std::chrono::milliseconds duration(const config_reader& reader, const toml::node& node,
                                   const std::string& key) {
  const double max = std::chrono::duration<double>(limits::max_stop_grace).count();
  return *seconds_to_milliseconds(reader.seconds(node, key, max));
}

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

}  // namespace pipemux::detail
