// Operating a run while it goes on: what each child is doing, and stopping, starting,
// restarting and scaling children by name (overmind's restart/stop, supervisorctl's status,
// process-compose's scale). The supervisor's methods are in supervisor.hpp; the CLI serves
// them on a control socket (`pipemux ctl`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pipemux/exit_status.hpp"
#include "pipemux/message.hpp"
#include "pipemux/named.hpp"

namespace pipemux {

/// Where a child is in its life, as `pipemux ctl status` shows it.
enum class child_state : unsigned char {
  waiting,      ///< not started yet: its turn (max_running) or its dependencies
  starting,     ///< running; its ready probe has not succeeded yet
  ready,        ///< running, and its ready probe succeeded
  running,      ///< running (no ready probe, or it timed out: `detail` says so)
  stopping,     ///< sent its stop signal; not reaped yet
  restarting,   ///< ended; starts again after `restart_in`
  exited,       ///< ended for now (`status` says how): done, or until it is started again
  not_started,  ///< never ran: could not be started, a dependency failed, or stopped before
                ///< its start (`detail` says which)
};

inline constexpr named<child_state> child_state_names[] = {
    {"waiting", child_state::waiting},   {"starting", child_state::starting},
    {"ready", child_state::ready},       {"running", child_state::running},
    {"stopping", child_state::stopping}, {"restarting", child_state::restarting},
    {"exited", child_state::exited},     {"not_started", child_state::not_started}};

/// One child, as it is at the moment status() looked.
struct child_status {
  child_info child;  ///< pid -1 when it has no process (never ran, or waits to restart)
  child_state state = child_state::waiting;
  std::optional<exit_status> status;  ///< how its last run ended (exited, restarting)
  /// Running or stopping: since its current run started; exited: how long its last run ran.
  std::chrono::nanoseconds uptime{0};
  std::chrono::nanoseconds restart_in{0};  ///< restarting: how long until it starts again
  std::size_t restarts = 0;    ///< as run_summary's: automatic ones and those the host asked for
  std::uint64_t messages = 0;  ///< over all its runs
  std::uint64_t bytes = 0;
  std::string detail;  ///< not_started: why; running: "not ready ..." after a probe's timeout
};

/// The children of one program, or one of them: "web" or "web.1" on the command line.
struct child_selector {
  std::string program;
  std::optional<std::size_t> instance;  ///< empty: every child of the program
};

}  // namespace pipemux
