// A child's own log file's name ([[program]] output): the template with the child's identity.
#include <stdexcept>
#include <string>
#include <string_view>

#include "pipemux/escape.hpp"
#include "pipemux/log_options.hpp"

namespace pipemux {

std::string child_output_path(std::string_view path, std::string_view name, std::size_t index,
                              std::size_t instance) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{' && path[i] != '}') {
      out += path[i];
      continue;
    }
    const std::size_t close = path[i] == '{' ? path.find('}', i) : std::string_view::npos;
    const std::string_view field =
        close == std::string_view::npos ? std::string_view() : path.substr(i + 1, close - i - 1);
    if (field == "name")
      out += name;
    else if (field == "index")
      out += std::to_string(index);
    else if (field == "instance")
      out += std::to_string(instance);
    else
      throw std::invalid_argument(
          "only {name}, {index} and {instance} may be in braces (got \"" +
          escaped(path.substr(i, close == std::string_view::npos ? 1 : close - i + 1)) + "\")");
    i = close;
  }
  return out;
}

}  // namespace pipemux
