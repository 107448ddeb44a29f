// Starting one child of the supervisor: its executable looked up on its own PATH, its
// environment, its pipes (or a pseudo-terminal) and their readers, its cgroup, then the spawn.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "pipemux/events.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"
#include "process/child_environment.hpp"
#include "process/child_process.hpp"
#include "process/pipe_reader.hpp"
#include "process/pseudo_terminal.hpp"
#include "process/unique_fd.hpp"

namespace pipemux::detail {

class run_cgroup;

/// A child started: its process, and a reader for each stream it writes to us (indexed by
/// stream_kind; none for stderr when it is merged or inherited, one for a terminal).
struct launched_child {
  std::unique_ptr<child_process> process;
  std::array<std::shared_ptr<pipe_reader>, 2> readers;
  /// program_spec::input: where its stdin is written (a pipe, or its terminal's master side).
  unique_fd input;
};

/// Where the child goes: the run's cgroup (may be null), and why there is none.
struct launch_place {
  run_cgroup* cgroup = nullptr;
  const std::string* no_cgroup_reason = nullptr;
  /// A pseudo-terminal's size (program_spec::pty) when the owner set one; else our stdout's.
  const window_size* terminal_size = nullptr;
};

/// Starts `child` of `spec`. On failure, nothing is left running or open and `why` says what
/// went wrong: "cannot start 'x': No such file or directory", "...: Too many open files".
std::optional<launched_child> launch_child(const boost::asio::any_io_executor& strand,
                                           const program_spec& spec, const child_info& child,
                                           const program_environment& environment,
                                           const run_options& options, launch_place place,
                                           std::string& why);

/// "cannot start 'ARGV0': WHY": how a start that failed is said, at a start or by check.
std::string cannot_start(const program_spec& spec, const std::string& why);

}  // namespace pipemux::detail
