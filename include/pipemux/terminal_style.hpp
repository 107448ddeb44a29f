// How the CLI dresses its log for the place it goes: colour or not (the flag, then the
// NO_COLOR / FORCE_COLOR / CLICOLOR_FORCE conventions, then whether it is a terminal), what it
// does with the children's own colours, and each program's label colour.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "pipemux/log_format.hpp"
#include "pipemux/log_options.hpp"
#include "pipemux/program.hpp"

namespace pipemux {

using environment_reader = std::function<std::optional<std::string>(const std::string&)>;

/// Whether the log is coloured. `to_stdout`: the log goes to standard output (not -o FILE),
/// which is a terminal when `stdout_is_terminal`.
bool colors_wanted(color_choice choice, bool to_stdout, bool stdout_is_terminal,
                   const environment_reader& getenv);

/// The built-in pattern for `timestamps`, unless `pattern` is set.
std::string log_pattern(const log_options& log);

/// Labels padded to the widest of `programs`; with colour, each program's label in its own
/// colour: the one it asks for, else the next of a fixed palette.
log_style log_style_for(const log_options& log, std::span<const program_spec> programs, bool color);

/// What happens to a child's own colours: as asked, else kept when coloured, stripped when
/// colour is off on purpose (`color = never`, NO_COLOR), else escaped.
ansi_mode ansi_for(const log_options& log, bool color, const environment_reader& getenv);

/// When coloured, FORCE_COLOR=1 for the children (concurrently does the same), unless it is
/// turned off, or already set here or in `environment`.
void force_color_in_children(const log_options& log, bool color, const environment_reader& getenv,
                             std::vector<std::pair<std::string, std::string>>& environment);

}  // namespace pipemux
