#include "process/pseudo_terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>

namespace pipemux::detail {

pseudo_terminal open_pseudo_terminal(std::error_code& ec, const window_size* given) {
  const auto failed = [&ec] {
    ec = std::error_code(errno, std::system_category());
    return pseudo_terminal{};
  };
  pseudo_terminal pty;
  pty.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (pty.master.get() < 0 || ::grantpt(pty.master.get()) != 0 || ::unlockpt(pty.master.get()) != 0)
    return failed();
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) return failed();
  pty.child.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (pty.child.get() < 0) return failed();
  termios mode{};
  if (::tcgetattr(pty.child.get(), &mode) != 0) return failed();
  mode.c_oflag &= ~tcflag_t{OPOST};  // a line ends with "\n" in the log as in the program
  mode.c_lflag &= ~tcflag_t{ECHO | ECHONL};
  if (::tcsetattr(pty.child.get(), TCSANOW, &mode) != 0) return failed();
  winsize size{};
  if (given != nullptr && given->rows > 0 && given->columns > 0) {
    size.ws_row = given->rows;
    size.ws_col = given->columns;
  } else if (::isatty(STDOUT_FILENO) != 1 || ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 ||
             size.ws_col == 0) {
    size.ws_col = 80;
    size.ws_row = 24;
  }
  ::ioctl(pty.child.get(), TIOCSWINSZ, &size);  // a size of 0x0 would only look odd
  ec.clear();
  return pty;
}

bool resize_pseudo_terminal(int master, window_size size) noexcept {
  winsize w{};
  w.ws_row = size.rows;
  w.ws_col = size.columns;
  return master >= 0 && ::ioctl(master, TIOCSWINSZ, &w) == 0;
}

}  // namespace pipemux::detail
