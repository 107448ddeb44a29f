// `pipemux check`: everything a run would load (the config, a Procfile, .env files, the
// selection and formation, PORTs), said without starting anything: each child that would run,
// how and where, and the log's outputs. Every program that could not start is named, not only
// the first: exit 0, or 2 with each problem on stderr.
#pragma once

#include <iosfwd>
#include <vector>

#include "pipemux/config.hpp"

namespace pipemux::cli {

/// `programs`: those the run would start (the spam producer when none is configured).
int check_run(const config& cfg, const std::vector<program_spec>& programs, std::ostream& out);

}  // namespace pipemux::cli
