// Whether a program's dependency is met, still to come, or failed, decided without I/O from
// what is known of the children of the program it depends on (tests/unit/dependency_state_test).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pipemux/exit_status.hpp"
#include "pipemux/program.hpp"
#include "pipemux/readiness.hpp"

namespace pipemux::detail {

/// What is known of one child, for its program's dependents.
struct child_progress {
  bool started = false;               // a process of it ran, at some time
  bool ready = false;                 // its current or last run got ready
  std::string not_ready;              // its ready probe timed out: what the last attempt got
  bool finished = false;              // done for good: no restart to come
  std::string start_error;            // it did not start (spawn or dependency failure)
  std::optional<exit_status> status;  // of its last run
  bool succeeded = false;             // `status` is a success for its program
};

struct dependency_verdict {
  enum class state { met, waiting, failed };
  state what = state::waiting;
  std::string why;  // failed: "exited with code 1 before it was ready"
};

/// `children`: those of the program depended on.
dependency_verdict judge_dependency(dependency_condition condition,
                                    std::span<const child_progress> children);

/// Program names in dependency order problems: an unknown name, the program itself, or a
/// cycle ("a -> b -> a"). Empty when there is none. `where` is the program at fault's index.
std::string dependency_problem(std::span<const program_spec> programs, std::size_t& where);

}  // namespace pipemux::detail
