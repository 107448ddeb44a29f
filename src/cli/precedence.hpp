// Flags over the config file over built-in defaults: the run's config from what the command
// line gave. Every mistake is a usage_error (report.hpp) naming the flag or the file.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"
#include "pipemux/config.hpp"

namespace pipemux::cli {

/// The config file named by -c (or the defaults), with every flag given laid over it, the
/// programs chosen (COMMANDs, `-- argv`, a Procfile, --only/--except/-m) and the env files read.
config config_from_flags(const command_line_flags& flags, std::vector<std::string> exact_argv);

}  // namespace pipemux::cli
