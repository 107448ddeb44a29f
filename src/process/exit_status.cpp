#include "pipemux/exit_status.hpp"

#include <sys/wait.h>
#include <cctype>
#include <csignal>
#include <cstring>

namespace pipemux {

exit_status exit_status::from_wait_status(int wait_status) noexcept {
  exit_status status;
  if (WIFSIGNALED(wait_status)) {
    status.signaled = true;
    status.signal = WTERMSIG(wait_status);
  } else {
    status.code = WEXITSTATUS(wait_status);
  }
  return status;
}

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

std::optional<int> parse_signal(std::string_view name) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos) {
    const int number = name.size() > 3 ? 0 : std::stoi(std::string(name));
    if (number > 0 && number < NSIG) return number;
    return std::nullopt;
  }
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper.erase(0, 3);
  for (int sig = 1; sig < NSIG; ++sig)
    if (const char* abbrev = ::sigabbrev_np(sig); abbrev != nullptr && upper == abbrev) return sig;
  return std::nullopt;
}

std::string describe(const exit_status& status) {
  if (status.signaled) return "killed by " + signal_name(status.signal);
  return "exited with code " + std::to_string(status.code) +
         (status.code != 0 && status.listed_success ? " (a success code)" : "");
}

}  // namespace pipemux
