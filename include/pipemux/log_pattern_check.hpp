// What makes a log pattern useless, found before any line is written: spdlog takes every
// pattern and writes what it can.
#pragma once

#include <string>
#include <string_view>

namespace pipemux {

/// Why `pattern` (spdlog's syntax, with pipemux's flags) cannot be a log pattern, in one
/// phrase, or empty when it can: it ends in a '%' with no flag after it ("100%", "%-12"),
/// which spdlog drops in silence, or it has no %v, so no child's text would be logged ("%%v"
/// is the text "%v").
std::string log_pattern_problem(std::string_view pattern);

}  // namespace pipemux
