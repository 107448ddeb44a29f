// Which of the configured programs run, and how many of each: --formation, --only, --except
// (honcho's -m, -c and `start NAME`; concurrently has no such thing).
#pragma once

#include <string>
#include <vector>

#include "pipemux/program.hpp"

namespace pipemux::cli {

struct program_selection {
  std::vector<std::string> formation;  ///< "web=2" items: instances per named program (0: none)
  std::vector<std::string> only;       ///< run just these
  std::vector<std::string> except;     ///< run all but these
};

/// Applies `selection` to `programs` (formation first, then only/except). The problem in one
/// line ("--only: no program named 'wbe' (the programs: web, worker)") when a name is unknown,
/// given twice in the formation, a count is not a number in 0..limits::max_children, or
/// nothing is left to run; else empty. Of the known names, the first ten are listed ("... p9
/// and 9,990 more").
std::string apply_selection(std::vector<program_spec>& programs,
                            const program_selection& selection);

/// --hide: each name must be one of `programs` (or "spam" when there are none). The problem
/// in one line, else empty.
std::string check_hidden(const std::vector<program_spec>& programs,
                         const std::vector<std::string>& hidden);

}  // namespace pipemux::cli
