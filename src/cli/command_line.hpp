// The command line: flags on top of the config file on top of built-in defaults.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "control_client.hpp"
#include "pipemux/config.hpp"
#include "success_rule.hpp"

namespace pipemux::cli {

/// Documented exit codes (README, "Exit codes").
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int child_failed = 1;
inline constexpr int usage = 2;            // bad flag, bad config, unopenable output
inline constexpr int spawn_failed = 3;     // a program could not be started
inline constexpr int output_failed = 4;    // our output could not be written
inline constexpr int log_lost = 5;         // log lines were lost (dropped, counted on stderr)
inline constexpr int pipemux_failed = 6;   // pipemux itself failed: memory, descriptors, ...
inline constexpr int output_closed = 141;  // our stdout was closed (| head): 128 + SIGPIPE
}  // namespace exit_code

struct supervise_request {
  config cfg;            ///< programs resolved: a `-- COMMAND` replaces the configured ones
  success_rule success;  ///< --success
  bool timings = false;  ///< --timings
  bool group = false;    ///< --group
  bool input = false;    ///< -i, --input (or --input-target)
  std::string input_target;
  /// --control: the socket's path; "none": no socket; empty: the default place, if any.
  std::string control;
};

struct spam_request {
  spam_options options;
  long long index = -1;  ///< -1: from PIPEMUX_CHILD_INDEX
  std::string record_prefix;
};

/// `pipemux check`: what a run of `cfg` would start, said without starting it.
struct check_request {
  config cfg;
};

/// What to do, or the exit code when there is nothing left to do (--help, --version, an
/// error, each already printed).
using command = std::variant<supervise_request, spam_request, check_request, ctl_request, int>;

command parse_command_line(int argc, const char* const* argv);

/// What --version prints: pipemux's version and those of the libraries it was built with.
std::string version_text();

}  // namespace pipemux::cli
