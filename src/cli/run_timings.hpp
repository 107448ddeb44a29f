// --timings: when each child started and ended, how long it ran and how it ended, as a table of
// pipemux's own lines at the end of the run (concurrently's --timings).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "pipemux/events.hpp"

namespace pipemux::cli {

class run_timings {
 public:
  /// Notes when a child first started and when its last run ended.
  void record(const child_event& event);
  /// Child indexes in the order their last runs ended (--success first, last).
  const std::vector<std::size_t>& end_order() const noexcept { return end_order_; }
  /// Its lines, a header first, in the children's order; `summary` says how each ended.
  std::vector<std::string> table(const run_summary& summary) const;

 private:
  using clock = std::chrono::system_clock;
  struct child_times {
    clock::time_point started{};
    clock::time_point ended{};
    bool has_started = false;
    bool has_ended = false;
  };
  std::vector<child_times> children_;  // by child index
  std::vector<std::size_t> end_order_;
};

}  // namespace pipemux::cli
