#include "pipemux/log_pattern_check.hpp"

namespace pipemux {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Where the flag's letter is for the '%' at `percent`, past a width spec as spdlog reads one:
// an optional '-' or '=', then digits, then an optional '!' (only after digits).
std::size_t flag_at(std::string_view pattern, std::size_t percent) {
  std::size_t at = percent + 1;
  if (at < pattern.size() && (pattern[at] == '-' || pattern[at] == '=')) ++at;
  if (at == pattern.size() || !is_digit(pattern[at])) return at;
  while (at < pattern.size() && is_digit(pattern[at])) ++at;
  if (at < pattern.size() && pattern[at] == '!') ++at;
  return at;
}

}  // namespace

std::string log_pattern_problem(std::string_view pattern) {
  bool has_message = false;
  for (std::size_t at = pattern.find('%'); at != std::string_view::npos;
       at = pattern.find('%', at)) {
    const std::size_t flag = flag_at(pattern, at);
    if (flag == pattern.size())
      return "ends in '" + std::string(pattern.substr(at)) +
             "' with no flag after it (%% is a percent sign)";
    has_message = has_message || pattern[flag] == 'v';
    at = flag + 1;
  }
  if (!has_message) return "has no %v: the children's text would not be logged";
  return {};
}

}  // namespace pipemux
