#include "config/document_checks.hpp"

#include <algorithm>

#include "pipemux/config_error.hpp"

namespace pipemux::detail {

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
                             " dots in keys on one line: tables nest too deep",
                         true);
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

}  // namespace pipemux::detail
