#include <fmt/format.h>

#include "pipemux/events.hpp"

namespace pipemux {

std::string describe(const child_event& event) {
  switch (event.kind) {
    case child_event_kind::started:
      return "started: " + event.detail;
    case child_event_kind::spawn_failed:
    case child_event_kind::output_abandoned:
      return event.detail;
    case child_event_kind::leftovers_killed:
      return event.detail.empty() ? "killed what was left of its process group" : event.detail;
    case child_event_kind::leftovers_stopping:
    case child_event_kind::stop_escalated:
      return event.detail;
    case child_event_kind::restarting:
      return "restarting: " + event.detail;
    case child_event_kind::stopping_others:
      return event.detail;
    case child_event_kind::stopped:
      return "stopped: " + event.detail;
    case child_event_kind::continued:
      return "continued";
    case child_event_kind::guard_lost:
      return event.detail;
    case child_event_kind::waiting:
      return "waiting for " + event.detail;
    case child_event_kind::ready:
      return "ready " + event.detail;
    case child_event_kind::not_ready:
      return "not ready " + event.detail;
    case child_event_kind::dependency_failed:
    case child_event_kind::not_alive:
    case child_event_kind::requested:
      return event.detail;
    case child_event_kind::exited: {
      const double seconds = std::chrono::duration<double>(event.run_time).count();
      return fmt::format("{} after {:.3f} s",
                         event.status ? describe(*event.status) : std::string("ended"), seconds);
    }
  }
  return event.detail;
}

std::string describe(const child_summary& s) {
  std::string how = !s.spawn_error.empty() || !s.dependency_error.empty()
                        ? std::string("not started")
                    : s.status ? describe(*s.status)
                               : std::string("never ran");
  if (s.not_alive) how += " (not alive)";
  if (s.stopped) how += " (stopped)";
  return fmt::format("summary: {} message{}, {} bytes, {}, {} restart{}", s.messages,
                     s.messages == 1 ? "" : "s", s.bytes, how, s.restarts,
                     s.restarts == 1 ? "" : "s");
}

}  // namespace pipemux
