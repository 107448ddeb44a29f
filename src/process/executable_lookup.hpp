// Internal: finds the program to exec the way execvp would, but before any fork, so that a
// missing or non-executable program is reported as one clear error and no child is created.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pipemux::detail {

/// Resolves `name` (argv[0]) against `search_path` (a PATH value) unless it contains a '/'.
/// Returns the path to exec, or an empty path with `why` set ("not found in PATH", ...).
std::filesystem::path find_executable(std::string_view name, std::string_view search_path,
                                      std::string& why);

/// What to exec for a program, as the shell would run it.
struct exec_target {
  std::filesystem::path executable;
  std::vector<std::string> argv;
};

/// find_executable, and then what the child's exec would trip over, said before any fork:
/// - a relative path with a '/' ("./run.sh", "bin/x") is taken from `working_directory` (the
///   directory the child runs in), as `cd DIR && ./run.sh` would;
/// - a missing or non-directory `working_directory` is named as such;
/// - a script without "#!" is run by /bin/sh, as execvp does (not "Exec format error");
/// - a "#!" interpreter that is missing or not executable is named.
/// On failure returns nullopt with `why` set.
std::optional<exec_target> resolve_exec(const std::vector<std::string>& argv,
                                        const std::string& working_directory,
                                        std::string_view search_path, std::string& why);

}  // namespace pipemux::detail
