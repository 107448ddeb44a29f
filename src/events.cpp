#include <fmt/format.h>

#include "pipemux/events.hpp"

namespace pipemux {

std::string describe(const child_event& event) {
  switch (event.kind) {
    case child_event_kind::started: return "started: " + event.detail;
    case child_event_kind::spawn_failed: return event.detail;
    case child_event_kind::output_abandoned: return event.detail;
    case child_event_kind::stop_escalated:
      return "still running after the grace period: " + event.detail;
    case child_event_kind::exited: {
      const double seconds = std::chrono::duration<double>(event.run_time).count();
      return fmt::format("{} after {:.3f} s",
                         event.status ? describe(*event.status) : std::string("ended"), seconds);
    }
  }
  return event.detail;
}

}  // namespace pipemux
