// `pipemux ctl`: sends one request to a running pipemux's control socket and prints the
// answer. Exit codes: 0 done, 1 the run refused or could not do it, 2 a usage mistake, 3 no
// run could be reached.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "control_request.hpp"

namespace pipemux::cli {

namespace ctl_exit_code {
inline constexpr int ok = 0;
inline constexpr int refused = 1;
inline constexpr int usage = 2;
inline constexpr int unreachable = 3;
}  // namespace ctl_exit_code

struct ctl_request {
  std::string socket;       ///< --socket; empty: found in the default directory
  std::optional<long> pid;  ///< --pid: that run's socket in the default directory
  control_request request;
};

/// The socket to use: --socket, or --pid's, or the only live run's in the default directory;
/// empty and `error` saying why when there is none or more than one.
std::string find_control_socket(const ctl_request& ctl, std::string& error);

int run_ctl(const ctl_request& ctl, std::ostream& out, std::ostream& err);

}  // namespace pipemux::cli
