// What happens to children besides their output: lifecycle events and the end-of-run summary.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "pipemux/exit_status.hpp"
#include "pipemux/message.hpp"

namespace pipemux {

enum class child_event_kind : unsigned char {
  started,             ///< forked and exec'd; child.pid is set
  spawn_failed,        ///< could not be started; `detail` says why; no process is left
  output_abandoned,    ///< exited, but its pipe stayed open past the grace period: closed
  leftovers_killed,    ///< processes it left (its group; or its cgroup: `detail` names them) got
                       ///< SIGKILL
  leftovers_stopping,  ///< the run ended with processes it started still in its cgroup: stopping
  stop_escalated,      ///< sent SIGKILL: still running after the grace, or stopped a second time
                       ///< (`detail` says which)
  exited,              ///< reaped and its output fully read; `status` and `run_time` are set
  restarting,          ///< will be started again; `detail` says why, which attempt, when
  stopping_others,     ///< its end ends the run (run_options::stop_on): the others are stopped
  stopped,             ///< stopped by a signal (`detail` names it); found within a second
  continued,           ///< continued after a stop
  guard_lost,          ///< the orphan guard died or could not start (once per run, any child)
  waiting,             ///< not started yet: waits for its dependencies (`detail` names them)
  ready,               ///< its ready probe succeeded (`detail`: "after 1.234 s (log matched ...)")
  not_ready,           ///< its ready probe did not succeed within its timeout (`detail` says what
                       ///< the last attempt got); it goes on running
  dependency_failed,   ///< a dependency of its program failed (`detail` says which and how): it
                       ///< never starts, or starts anyway (program_spec::on_dependency_failure)
  not_alive,           ///< its liveness probe failed `alive_failures` times in a row: stopped,
                       ///< to be restarted under its restart mode
  requested,           ///< the host asked it stopped, started or restarted (control.hpp);
                       ///< `detail` says what and who asked: "stop asked by pipemux ctl"
};

struct child_event {
  child_event_kind kind;
  std::shared_ptr<const child_info> child;  ///< as in message: never null, may be kept
  std::optional<exit_status> status;
  std::chrono::nanoseconds run_time{0};
  std::string detail;
};

/// One line for a log: "started: /usr/bin/sleep 1", "exited with code 3 after 1.204 s".
std::string describe(const child_event& event);

struct child_summary {
  child_info child;
  std::uint64_t messages = 0;  ///< over all its runs
  std::uint64_t bytes = 0;
  std::optional<exit_status> status;  ///< of its last run; empty when it never started
  std::string spawn_error;            ///< why its last start failed
  std::size_t restarts = 0;  ///< automatic ones (restart_mode), and those the host asked for
  bool stopped = false;      ///< its last run was sent the stop signal by the supervisor
  /// Why it never started although it could have: a dependency failed ("'db' exited with code
  /// 1 before it was ready").
  std::string dependency_error;
  /// Its last run was stopped because its liveness probe failed: a failure, not a stop of ours.
  bool not_alive = false;

  /// Ended badly on its own: not started, or a failure that no stop of ours caused.
  bool failed() const noexcept {
    return !spawn_error.empty() || !dependency_error.empty() || not_alive ||
           (status && !status->success() && !stopped);
  }
};

/// "summary: 10 messages, 72 bytes, exited with code 0, 0 restarts".
std::string describe(const child_summary& summary);

struct run_summary {
  std::vector<child_summary> children;
  bool stopped = false;  ///< stop() was called, or stop_on ended the run early
  /// The index of the child whose end ended the run early (run_options::stop_on).
  std::optional<std::size_t> ended_by;
  /// What on_message or on_event threw (errc::callback_threw): the run was stopped then, and
  /// no callback was made after it. std::rethrow_exception it to see what.
  std::exception_ptr callback_exception;

  bool any_failed() const noexcept {
    for (const auto& c : children)
      if (c.failed()) return true;
    return false;
  }
  bool any_spawn_failed() const noexcept {
    for (const auto& c : children)
      if (!c.spawn_error.empty()) return true;
    return false;
  }
};

}  // namespace pipemux
