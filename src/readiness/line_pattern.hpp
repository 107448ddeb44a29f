// A log probe's regular expression (Boost.Regex, Perl/ECMAScript syntax), searched in one line
// of a child's output. Boost's engine bounds the work of one search: a pattern that would
// backtrack for ever on a line the child wrote ("(a+)+b") gives up on that line instead of
// freezing the event loop. Kept out of the header: <boost/regex.hpp> is heavy to compile.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace pipemux::detail {

class line_pattern {
 public:
  /// Throws std::invalid_argument when `pattern` is not a valid expression.
  explicit line_pattern(const std::string& pattern);
  ~line_pattern();
  line_pattern(line_pattern&&) noexcept;
  line_pattern& operator=(line_pattern&&) noexcept;

  enum class result { found, not_found, too_costly };
  /// Searches `line`; `ended`: it is a whole line ('$' may match at its end), else the start
  /// of one still being written.
  result search(std::string_view line, bool ended) const;

  /// Why `pattern` is not a valid expression, or empty.
  static std::string problem(const std::string& pattern);

 private:
  struct compiled;
  std::unique_ptr<compiled> compiled_;
};

}  // namespace pipemux::detail
