// Procfiles, as foreman and honcho read them: one `name: command line` per line.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/program.hpp"

namespace pipemux {

/// The programs of a Procfile, in order, each run by /bin/sh -c with one instance unless the
/// caller says otherwise (their `instances` is 0: "not set"). A line is `NAME: COMMAND`, NAME of
/// letters, digits, '_' and '-' from the first column; blank lines and lines whose first
/// non-blank character is '#' are skipped; a '\r' before the newline is dropped. Whitespace is
/// foreman's (space, \t, \v, \f, \r): it is skipped after the colon, and a line of nothing
/// else is blank; spaces, tabs and '\r' after the command are dropped.
/// What foreman or honcho would skip in silence is a config_error here, located
/// ("Procfile:3:4: expected ':' after the name web"): a line that is not NAME: COMMAND, a name
/// given twice, a NUL byte, no program at all. So is a name with no command (`web:   `), which
/// they would run as an empty one.
std::vector<program_spec> parse_procfile(std::string_view text, const std::string& source);

/// Reads (at most limits::max_config_size bytes) and parses a Procfile; config_error when it
/// cannot be read.
std::vector<program_spec> load_procfile(const std::filesystem::path& path);

}  // namespace pipemux
