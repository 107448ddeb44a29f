#include "readiness/line_pattern.hpp"

#include <boost/regex.hpp>

#include <stdexcept>

namespace pipemux::detail {

struct line_pattern::compiled {
  boost::regex expression;
};

line_pattern::line_pattern(const std::string& pattern) {
  try {
    compiled_ = std::make_unique<compiled>(compiled{boost::regex(pattern, boost::regex::perl)});
  } catch (const std::exception& e) {  // regex_error, or a limit Boost hit while compiling
    throw std::invalid_argument(e.what());
  }
}

line_pattern::~line_pattern() = default;
line_pattern::line_pattern(line_pattern&&) noexcept = default;
line_pattern& line_pattern::operator=(line_pattern&&) noexcept = default;

line_pattern::result line_pattern::search(std::string_view line, bool ended) const {
  try {
    const auto flags = ended ? boost::match_default : boost::match_not_eol;
    return boost::regex_search(line.begin(), line.end(), compiled_->expression, flags)
               ? result::found
               : result::not_found;
  } catch (const std::exception&) {  // the search passed Boost's bound (work or memory)
    return result::too_costly;
  }
}

std::string line_pattern::problem(const std::string& pattern) {
  try {
    const boost::regex expression(pattern, boost::regex::perl);
  } catch (const std::exception& e) {
    return std::string("not a valid regular expression: ") + e.what();
  }
  return {};
}

}  // namespace pipemux::detail
