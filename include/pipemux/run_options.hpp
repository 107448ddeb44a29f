// How a supervisor reads, frames and stops its children.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>

namespace pipemux {

enum class framing_mode : unsigned char {
  line,  ///< one message per line (see line_framer)
  raw,   ///< one message per read, exactly as the read returned it
};

/// Documented limits, shared by the config loader and the command line.
namespace limits {
inline constexpr std::size_t max_read_size = std::size_t{1} << 24;  // 16 MiB
inline constexpr std::size_t max_line = std::size_t{1} << 24;       // 16 MiB
inline constexpr std::size_t max_children = 4096;
inline constexpr std::chrono::milliseconds max_stop_grace{3'600'000};
}  // namespace limits

struct run_options {
  std::size_t read_size = 65536;  ///< bytes per read of each pipe (buffer reused per pipe)
  framing_mode framing = framing_mode::line;
  std::size_t max_line = 65536;   ///< longer lines are delivered in pieces of this size
  /// After a stop signal, how long a child may take before SIGKILL; after a child exits, how
  /// long its pipe may stay open (held by a background grandchild) before it is closed.
  std::chrono::milliseconds stop_grace{5000};
  int stop_signal = SIGTERM;
  bool own_process_group = true;  ///< each child leads its own group; stops reach grandchildren
  bool die_with_parent = true;    ///< PR_SET_PDEATHSIG: children die if this process is killed
};

}  // namespace pipemux
