#include "terminal_size.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

namespace pipemux::cli {

std::optional<terminal_size> own_terminal_size() noexcept {
  for (const int fd : {STDOUT_FILENO, STDERR_FILENO, STDIN_FILENO}) {
    winsize size{};
    if (::isatty(fd) == 1 && ::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 &&
        size.ws_col > 0)
      return terminal_size{size.ws_row, size.ws_col};
  }
  return std::nullopt;
}

}  // namespace pipemux::cli
