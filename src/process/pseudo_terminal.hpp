// Internal: a pseudo-terminal for a child's output (program_spec::pty), so that a program that
// colours or line-buffers only on a terminal behaves as it would in one.
#pragma once

#include <system_error>

#include "process/unique_fd.hpp"

namespace pipemux::detail {

struct pseudo_terminal {
  unique_fd master;  ///< read by pipemux; EIO once every holder of the other side closed it
  unique_fd child;   ///< the terminal side: the child's stdout, stderr and controlling tty
};

/// A terminal's window: rows and columns.
struct window_size {
  unsigned short rows = 0;
  unsigned short columns = 0;
};

/// Opens one, both sides close-on-exec. The terminal side writes "\n" as it is (no "\r\n":
/// output processing is off) and echoes nothing; its size is `size` when given, else that of
/// our stdout when that is a terminal, else 80x24. On failure, `ec` says why and both are
/// closed.
pseudo_terminal open_pseudo_terminal(std::error_code& ec, const window_size* size = nullptr);

/// Gives the terminal whose master side is `master` a new size: the kernel sends SIGWINCH to
/// its foreground process group. False when it is no terminal (any more).
bool resize_pseudo_terminal(int master, window_size size) noexcept;

}  // namespace pipemux::detail
