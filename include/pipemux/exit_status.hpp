// How a child ended, decoded from its wait status.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pipemux {

struct exit_status {
  int code = 0;    ///< exit code, when !signaled
  int signal = 0;  ///< the signal that killed it, when signaled
  bool signaled = false;
  /// The code is one of its program's success_codes (set by the supervisor).
  bool listed_success = false;

  static exit_status from_wait_status(int wait_status) noexcept;
  bool success() const noexcept { return !signaled && (code == 0 || listed_success); }
};

/// "SIGKILL" for 9, "signal 77" for a number without a name.
std::string signal_name(int sig);

/// 15 for "SIGTERM", "TERM", "term" or "15"; nullopt for anything that is not a signal.
std::optional<int> parse_signal(std::string_view name);

/// "exited with code 3", "killed by SIGKILL", "exited with code 130 (a success code)".
std::string describe(const exit_status& status);

}  // namespace pipemux
