// What to run: one program, run as one or more identical children.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipemux/readiness.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux {

/// An aggregate: `{"worker", {"my-worker"}, 4}` and designated initializers both work, and
/// every member has a default initializer, so that leaving the rest out draws no
/// -Wmissing-field-initializers warning.
struct program_spec {
  std::string name{};               ///< shown in the log; unique within a run
  std::vector<std::string> argv{};  ///< argv[0] is looked up in PATH unless it has a '/'; no shell
  std::size_t instances = 1;        ///< how many identical children to run
  /// Set (or override) in the child's environment, on top of the parent's.
  std::vector<std::pair<std::string, std::string>> environment{};
  std::string working_directory{};        ///< empty: the parent's
  std::optional<restart_mode> restart{};  ///< overrides run_options::restart.mode
  std::optional<int> stop_signal{};       ///< overrides run_options::stop_signal
  /// Overrides run_options::stop_grace: before SIGKILL, and for pipes held after the exit.
  std::optional<std::chrono::milliseconds> stop_grace{};
  std::optional<stop_condition> stop_on{};  ///< overrides run_options::stop_on
  /// Exit codes that count as success besides 0 (130 for a program that exits so on SIGINT):
  /// not a failure for restarts, stop_on, the summary and the exit code.
  std::vector<int> success_codes{};
  /// Its stdout and stderr (merged, stream "out") are a pseudo-terminal, its controlling
  /// terminal in a session of its own: for programs that colour or line-buffer only on a tty.
  bool pty = false;
  /// PORT for its first child, one more for each next (foreman's habit: its children can listen
  /// side by side). Replaces a PORT of the parent's; not set where `environment` sets PORT.
  std::optional<int> port{};
  /// Its stdin is a pipe (with `pty`, its terminal) that supervisor::send_input writes to;
  /// else /dev/null. Closed (EOF) by close_input, or when the supervisor is done with it.
  bool input = false;
  /// Its children start once every one of these is met (in any order); stopping goes the other
  /// way: a program's stop signal goes out once every program depending on it has ended.
  std::vector<dependency> depends_on{};
  dependency_failure on_dependency_failure = dependency_failure::stop_run;
  /// When a child of it counts as ready (child_event_kind::ready); none: once started.
  std::optional<probe> ready{};
  /// Asked while a child runs (not a log probe): after `alive_failures` failed attempts in a
  /// row it is stopped (its stop signal, grace, SIGKILL) and restarted under its restart mode,
  /// as a failure.
  std::optional<probe> alive{};
  std::size_t alive_failures = 3;
};

/// What would keep a child of `spec` from starting, said as a run says it ("cannot start
/// 'x': not found in PATH"), or empty: its command looked up in the PATH it would have (its
/// own `environment` over this process's), its working directory, a script's interpreter.
/// Nothing is started (`pipemux check`).
std::string start_problem(const program_spec& spec);

}  // namespace pipemux
