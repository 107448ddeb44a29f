#include "log_line.hpp"

#include <regex>

namespace pipemux::test {

std::optional<log_line> parse_log_line(const std::string& line) {
  static const std::regex shape(
      R"((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) ([^\s\[]+?)(?:\.(\d+))? *\[(\d+)\] (out|err|-) ([|+%~*]) (.*))");
  std::smatch m;
  if (!std::regex_match(line, m, shape)) return std::nullopt;
  return log_line{m[1], m[2], m[3], m[4], m[5], m[6].str().front(), m[7]};
}

}  // namespace pipemux::test
