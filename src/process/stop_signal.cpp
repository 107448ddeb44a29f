#include "pipemux/stop_signal.hpp"

#include <csignal>

#include "pipemux/exit_status.hpp"

namespace pipemux {

std::string stop_signal_problem(int sig) {
  switch (sig) {
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return signal_name(sig) + " pauses a process by default, it does not end it";
    case SIGCONT:
      return signal_name(sig) + " resumes a paused process by default, it does not end it";
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
      return signal_name(sig) + " is ignored by default: it does not end a process";
    default:
      return {};
  }
}

}  // namespace pipemux
