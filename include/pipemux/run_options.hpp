// How a supervisor reads, frames, restarts and stops its children.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>

namespace pipemux {

enum class framing_mode : unsigned char {
  line,  ///< one message per line (see line_framer)
  raw,   ///< one message per read, exactly as the read returned it
};

/// What happens to a child's stderr.
enum class stderr_mode : unsigned char {
  capture,  ///< its own pipe; messages tagged stream_kind::err
  merge,    ///< into the stdout pipe, as the shell's 2>&1 does
  inherit,  ///< this process's stderr, untouched
};

enum class restart_mode : unsigned char {
  never,
  on_failure,  ///< after a non-zero exit or a death by signal
  always,      ///< after any exit
};

/// Restarts wait initial_delay, doubling each time up to max_delay; a child is restarted at
/// most max_restarts times. No restart happens once a stop was requested.
struct restart_policy {
  /// initial_delay is at least this: the backoff doubles from here.
  static constexpr std::chrono::milliseconds min_delay{10};
  restart_mode mode = restart_mode::never;
  std::chrono::milliseconds initial_delay{500};
  std::chrono::milliseconds max_delay{30000};
  std::size_t max_restarts = 5;
};

/// When the end of one child ends the whole run (as concurrently's --kill-others[-on-fail]).
enum class stop_condition : unsigned char {
  all_done,     ///< never: the run ends when every child has finished
  any_failure,  ///< a child finished with a failure (after its restarts): stop the others
  any_exit,     ///< a child finished, however: stop the others
};

/// Whether the children run in a cgroup v2 of the run's own (see README, Stopping). In one,
/// nothing a child starts can escape: what is left when the run ends is stopped like the
/// children, and even a SIGKILL of this process leaves nothing running (cgroup.kill).
enum class cgroup_mode : unsigned char {
  off,           ///< no cgroup: process groups, PDEATHSIG and the guard only
  if_available,  ///< one when this process may create it (root, or a delegated subtree)
  required,      ///< one, or no child is started (each fails to spawn, saying why)
};

/// Documented limits, shared by the config loader and the command line.
namespace limits {
inline constexpr std::size_t max_read_size = std::size_t{1} << 24;  // 16 MiB
inline constexpr std::size_t max_line = std::size_t{1} << 24;       // 16 MiB
inline constexpr std::size_t max_children = 4096;
inline constexpr std::chrono::milliseconds max_stop_grace{3'600'000};
inline constexpr std::size_t max_restarts = 1'000'000;
inline constexpr std::size_t max_config_size = std::size_t{1} << 20;  // 1 MiB
}  // namespace limits

struct run_options {
  std::size_t read_size = 65536;  ///< bytes per read of each pipe (buffer reused per pipe)
  framing_mode framing = framing_mode::line;
  std::size_t max_line = 65536;  ///< longer lines are delivered in pieces of this size
  stderr_mode stderr_handling = stderr_mode::capture;
  /// After a stop signal, how long a child may take before SIGKILL; after a child exits, how
  /// long its pipes may stay open (held by a background grandchild) before they are closed
  /// and what is left of its process group is killed.
  std::chrono::milliseconds stop_grace{5000};
  int stop_signal = SIGTERM;
  restart_policy restart;
  stop_condition stop_on = stop_condition::all_done;
  bool own_process_group = true;  ///< each child leads its own group; stops reach grandchildren
  /// PR_SET_PDEATHSIG for the children, and a guard process that kills their process groups,
  /// so that nothing outlives this process even when it is killed with SIGKILL.
  bool die_with_parent = true;
  /// Off by default in the library: it makes a directory under this process's cgroup, which
  /// the host's manager (systemd) must have delegated. The CLI uses if_available.
  cgroup_mode cgroup = cgroup_mode::off;
  /// Set PYTHONUNBUFFERED=1 in children (unless already set), so that Python does not hold
  /// output back when writing to a pipe. For C stdio programs use `stdbuf -oL COMMAND`.
  bool unbuffered_env = true;
  /// At most this many children run at once: the rest start, in order, as others are done for
  /// good (a child waiting to restart keeps its place). 0: no limit.
  std::size_t max_running = 0;
};

}  // namespace pipemux
