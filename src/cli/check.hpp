// `pipemux check`: everything a run would load (the config, a Procfile, .env files, the
// selection and formation, PORTs), said without starting anything: each child that would run,
// how and where, and the log's outputs. Every program that could not start is named, not only
// the first: exit 0, or 2 with each problem on stderr.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/config.hpp"

namespace pipemux::cli {

/// `programs`: those the run would start (the spam producer when none is configured).
int check_run(const config& cfg, const std::vector<program_spec>& programs, std::ostream& out);

/// Every problem `parse` finds in `text` (a config file, a Procfile, a .env file), not only the
/// first: the line of each problem is blanked out and the text parsed again, until it parses.
/// It stops at a syntax error (nothing after one can be read reliably), at a table's header
/// (its keys would join the table before), at a line blanked already, and after 100. Each is
/// what config_error says ("file:line:col: key: problem"), in the order of the file.
std::vector<std::string> every_problem(std::string text,
                                       const std::function<void(std::string_view)>& parse);

/// The files a run would read: every problem of each (every_problem), in that order.
struct files_to_check {
  std::optional<std::filesystem::path> config;
  std::optional<std::filesystem::path> procfile;
  std::vector<std::filesystem::path> env_files;
};
std::vector<std::string> every_file_problem(const files_to_check& files);

}  // namespace pipemux::cli
