#include "pipemux/procfile.hpp"

#include <map>

#include "config/text_file.hpp"
#include "pipemux/config_error.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/program.hpp"
#include "pipemux/shell_command.hpp"

namespace pipemux {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// What foreman's `\s` matches (Ruby's: space, \t, \n, \v, \f, \r): the whitespace it skips
// after the colon, and all a line it skips as blank may hold.
constexpr std::string_view foreman_space = " \t\n\v\f\r";

bool is_foreman_space(char c) {
  return foreman_space.find(c) != std::string_view::npos;
}

// Trailing blanks are dropped: the shell ignores them, and an editor may leave them.
bool is_trailing_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

}  // namespace

std::vector<program_spec> parse_procfile(std::string_view text, const std::string& source) {
  std::vector<program_spec> programs;
  std::map<std::string, std::size_t, std::less<>> defined_on;  // name -> line
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto fail = [&](std::size_t column, const std::string& problem) {
      throw config_error(source, line_number, column, "", problem);
    };
    if (const auto nul = line.find('\0'); nul != std::string_view::npos)
      fail(nul + 1, "a NUL byte: not a Procfile");
    const std::size_t first = line.find_first_not_of(foreman_space);
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (first != 0) fail(1, "a line must start with the program's name, in the first column");

    std::size_t end = 0;
    while (end < line.size() && is_name_char(line[end])) ++end;
    const std::string name(line.substr(0, end));
    if (end == 0)
      fail(1, "expected NAME: COMMAND, with a name of letters, digits, '_' and '-' (got '" +
                  escaped(line.substr(0, 1)) + "')");
    if (end == line.size() || line[end] != ':')
      fail(end + 1,
           "expected ':' after the name " + name + " (a name is letters, digits, '_' and '-')");
    std::size_t command_at = end + 1;
    while (command_at < line.size() && is_foreman_space(line[command_at])) ++command_at;
    std::string_view command = line.substr(command_at);
    while (!command.empty() && is_trailing_blank(command.back())) command.remove_suffix(1);
    // foreman and honcho run `web:   ` as an empty command; pipemux says there is none, as it
    // does for an empty command line in the config or on the command line.
    if (is_blank_command_line(command)) fail(end + 2, name + " has no command");
    if (const auto [it, added] = defined_on.emplace(name, line_number); !added)
      fail(1, name + " is defined twice (first on line " + std::to_string(it->second) + ")");

    program_spec spec = shell_program(std::string(command));
    spec.name = name;
    spec.instances = 0;  // unset: the formation, -n or `children` decides
    programs.push_back(std::move(spec));
  }
  if (programs.empty()) throw config_error(source, 0, 0, "", "no programs in it");
  return programs;
}

std::vector<program_spec> load_procfile(const std::filesystem::path& path) {
  return parse_procfile(detail::read_text_file(path, "Procfile"), path.string());
}

}  // namespace pipemux
