// Internal: finds the program to exec the way execvp would, but before any fork, so that a
// missing or non-executable program is reported as one clear error and no child is created.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace pipemux::detail {

/// Resolves `name` (argv[0]) against `search_path` (a PATH value) unless it contains a '/'.
/// Returns the path to exec, or an empty path with `why` set ("not found in PATH", ...).
std::filesystem::path find_executable(std::string_view name, std::string_view search_path,
                                      std::string& why);

}  // namespace pipemux::detail
