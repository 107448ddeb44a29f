#include "pipemux/exit_status.hpp"

#include <cstring>
#include <sys/wait.h>

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

std::string describe(const exit_status& status) {
  if (status.signaled) return "killed by " + signal_name(status.signal);
  return "exited with code " + std::to_string(status.code);
}

}  // namespace pipemux
