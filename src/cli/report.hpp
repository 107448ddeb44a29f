// The one place a CLI error becomes a stderr line and an exit code: "pipemux: error: ...".
#pragma once

#include <stdexcept>
#include <string_view>

namespace pipemux::cli {

/// A mistake in what the user gave (a flag, the config, a file a flag names): the one way the
/// command line's parsing says no. parse_command_line reports it, with exit_code::usage.
class usage_error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Writes "pipemux: error: <what>" on stderr and returns `code`.
int report_error(std::string_view what, int code);

}  // namespace pipemux::cli
