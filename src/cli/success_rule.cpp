#include "success_rule.hpp"

#include <algorithm>

#include "pipemux/name_escape.hpp"
#include "report.hpp"

namespace pipemux::cli {

success_rule success_rule::parse(const std::string& text,
                                 const std::vector<program_spec>& programs) {
  success_rule rule;
  const auto named_so = [&](std::string_view name) {
    return std::any_of(programs.begin(), programs.end(),
                       [&](const program_spec& p) { return p.name == name; });
  };
  if ((text == "all" || text == "first" || text == "last") && named_so(text))
    throw usage_error("--success " + text + ": a program has that name too; rename it (--names)");
  if (text == "all") return rule;
  if (text == "first" || text == "last") {
    rule.kind_ = text == "first" ? kind::first : kind::last;
    return rule;
  }
  const bool negated = !text.empty() && text.front() == '!';
  rule.kind_ = negated ? kind::all_but_program : kind::program;
  rule.program_ = negated ? text.substr(1) : text;
  const auto named = [&](const program_spec& p) { return p.name == rule.program_; };
  if (std::none_of(programs.begin(), programs.end(), named)) {
    std::string known;
    for (const auto& p : programs) known += (known.empty() ? "" : ", ") + escaped_name(p.name);
    throw usage_error("--success: '" + escaped_name(text) +
                      "' is neither all, first, last, NAME nor !NAME of a program here (" + known +
                      ")");
  }
  return rule;
}

bool success_rule::failed(const run_summary& summary,
                          const std::vector<std::size_t>& end_order) const {
  const auto child_failed = [&](std::size_t index) {
    return index < summary.children.size() && summary.children[index].failed();
  };
  switch (kind_) {
    case kind::first:
      return !end_order.empty() && child_failed(end_order.front());
    case kind::last:
      return !end_order.empty() && child_failed(end_order.back());
    case kind::program:
    case kind::all_but_program:
      return std::any_of(summary.children.begin(), summary.children.end(), [&](const auto& c) {
        return (c.child.name == program_) == (kind_ == kind::program) && c.failed();
      });
    case kind::all:
      break;
  }
  return summary.any_failed();
}

}  // namespace pipemux::cli
