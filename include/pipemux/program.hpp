// What to run: one program, run as one or more identical children.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pipemux/run_options.hpp"

namespace pipemux {

struct program_spec {
  std::string name;               ///< shown in the log; unique within a run
  std::vector<std::string> argv;  ///< argv[0] is looked up in PATH unless it has a '/'; no shell
  std::size_t instances = 1;      ///< how many identical children to run
  /// Set (or override) in the child's environment, on top of the parent's.
  std::vector<std::pair<std::string, std::string>> environment;
  std::string working_directory;        ///< empty: the parent's
  std::optional<restart_mode> restart;  ///< overrides run_options::restart.mode
};

}  // namespace pipemux
