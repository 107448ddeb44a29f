// --success: whose ends decide pipemux's exit code, as concurrently's --success does: every
// child's (all, the default), the first or the last child to end, one program's children
// (NAME), or every program's but one (!NAME). A child that pipemux stopped did not fail.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pipemux/events.hpp"
#include "pipemux/program.hpp"

namespace pipemux::cli {

class success_rule {
 public:
  /// "all", "first", "last", "NAME" or "!NAME"; a NAME must be one of `programs` (else a
  /// usage_error naming it and the programs there are).
  static success_rule parse(const std::string& text, const std::vector<program_spec>& programs);

  /// Whether the children it looks at failed. `end_order`: child indexes in the order their
  /// last run ended (a child that never started is not in it).
  bool failed(const run_summary& summary, const std::vector<std::size_t>& end_order) const;

 private:
  enum class kind { all, first, last, program, all_but_program };
  kind kind_ = kind::all;
  std::string program_;
};

}  // namespace pipemux::cli
