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

/// Opens one, both sides close-on-exec. The terminal side writes "\n" as it is (no "\r\n":
/// output processing is off) and echoes nothing; its size is that of our stdout when that is
/// a terminal, else 80x24. On failure, `ec` says why and both are closed.
pseudo_terminal open_pseudo_terminal(std::error_code& ec);

}  // namespace pipemux::detail
