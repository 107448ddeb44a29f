// Internal: the environment a child starts with, built once per program in time linear in its
// size (a .env of 100,000 variables must not make each start quadratic), then per child only
// who it is is added.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "pipemux/message.hpp"
#include "pipemux/program.hpp"

namespace pipemux::detail {

/// What the children of one program share: the parent's environment as it was when the run
/// started, PYTHONUNBUFFERED=1 (when `unbuffered` and the parent sets none), then the
/// program's own settings, each replacing an earlier one of the same name.
class program_environment {
 public:
  program_environment(const program_spec& spec, const char* const* parent, bool unbuffered);

  /// The whole environment of one child: the above, and PIPEMUX_CHILD_NAME, _INDEX and
  /// _INSTANCE unless the program sets them itself, and its PORT (program_spec::port).
  std::vector<std::string> for_child(const child_info& child) const;

  /// Where a command without '/' is looked up: the PATH the child will have.
  const std::string& search_path() const noexcept { return search_path_; }

 private:
  std::vector<std::string> entries_;    // "NAME=value", without the child's identity
  std::array<bool, 3> program_sets_{};  // the program sets NAME, INDEX, INSTANCE itself
  std::optional<int> first_port_;       // program_spec::port, unless it sets PORT itself
  std::string search_path_;
};

}  // namespace pipemux::detail
