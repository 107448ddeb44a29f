// The size of the terminal pipemux runs in, to hand on to the children's pseudo-terminals
// (--pty) at the start and on SIGWINCH.
#pragma once

#include <optional>

namespace pipemux::cli {

struct terminal_size {
  unsigned short rows;
  unsigned short columns;
};

/// That of the first of stdout, stderr and stdin that is a terminal (stdout may be piped to
/// a file while the user watches stderr); nullopt when none is.
std::optional<terminal_size> own_terminal_size() noexcept;

}  // namespace pipemux::cli
