#include "pipemux/shell_command.hpp"

#include <algorithm>
#include <set>

namespace pipemux {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n';
}

// Ends a word for the shell: blanks and the operators that start or separate commands.
bool ends_word(char c) {
  return is_blank(c) || std::string_view(";&|<>()").find(c) != std::string_view::npos;
}

std::string basename_of(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool is_assignment(std::string_view word) {
  const auto equals = word.find('=');
  if (equals == std::string_view::npos || equals == 0) return false;
  return std::all_of(word.begin(), word.begin() + static_cast<std::ptrdiff_t>(equals), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

}  // namespace

bool is_blank_command_line(std::string_view command_line) noexcept {
  return command_line.find_first_not_of(" \t\n\v\f\r") == std::string_view::npos;
}

program_spec shell_program(std::string command_line) {
  program_spec spec;
  spec.name = default_program_name(command_line);
  spec.argv = {std::string(command_shell), "-c", std::move(command_line)};
  return spec;
}

std::string default_program_name(std::string_view command_line) {
  std::size_t at = 0;
  while (true) {
    while (at < command_line.size() && is_blank(command_line[at])) ++at;
    std::size_t end = at;
    while (end < command_line.size() && !ends_word(command_line[end])) ++end;
    const std::string_view word = command_line.substr(at, end - at);
    if (word.empty()) return "sh";
    if (!is_assignment(word) && word != "exec") {
      // Quotes or expansions make the word something only the shell can tell.
      if (word.find_first_of("'\"$`\\*?[") != std::string_view::npos) return "sh";
      std::string name = basename_of(word);
      return name.empty() ? "sh" : name;
    }
    at = end;
  }
}

std::string default_program_name(const std::vector<std::string>& argv) {
  std::string name = argv.empty() ? std::string() : basename_of(argv.front());
  return name.empty() ? "program" : name;
}

void make_names_unique(std::vector<program_spec>& programs) {
  std::set<std::string> taken;
  for (const auto& spec : programs) taken.insert(spec.name);
  std::set<std::string> seen;
  for (auto& spec : programs) {
    if (seen.insert(spec.name).second) continue;
    for (int n = 2;; ++n) {
      std::string candidate = spec.name + "-" + std::to_string(n);
      if (taken.insert(candidate).second) {
        spec.name = std::move(candidate);
        seen.insert(spec.name);
        break;
      }
    }
  }
}

}  // namespace pipemux
