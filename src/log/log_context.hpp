// Internal: the message being logged, published by spdlog_adapter for the formatters.
// spdlog's log_msg has no room for a child's identity, and a synchronous logger formats on the
// calling thread, so a thread_local carries it from the adapter to the formatter.
#pragma once

#include "pipemux/events.hpp"
#include "pipemux/message.hpp"

namespace pipemux::detail {

struct log_context {
  const child_info* child = nullptr;  // nullptr: a line of pipemux's own
  const char* stream = "-";
  char mark = '*';
  const child_event* event = nullptr;      // the report is this event
  const child_summary* summary = nullptr;  // ... or this child's summary
};

log_context& current_log_context() noexcept;

/// What a child's message is, by its mark: "line", "piece", "partial" or "raw".
inline const char* output_kind(char mark) noexcept {
  switch (mark) {
    case '|':
      return "line";
    case '+':
      return "piece";
    case '%':
      return "partial";
    case '~':
      return "raw";
  }
  return "report";
}

/// What a report of pipemux's is: "start", "exit", "restart", "stop", "error", "summary",
/// "waiting", "ready", "not_ready", "dependency_failed", "not_alive", "requested", or "report" for
/// the rest.
inline const char* report_kind(const log_context& ctx) noexcept {
  if (ctx.summary != nullptr) return "summary";
  if (ctx.event == nullptr) return "report";
  switch (ctx.event->kind) {
    case child_event_kind::started:
      return "start";
    case child_event_kind::exited:
      return "exit";
    case child_event_kind::restarting:
      return "restart";
    case child_event_kind::stopping_others:
    case child_event_kind::stop_escalated:
    case child_event_kind::leftovers_stopping:
    case child_event_kind::leftovers_killed:
      return "stop";
    case child_event_kind::spawn_failed:
      return "error";
    case child_event_kind::waiting:
      return "waiting";
    case child_event_kind::ready:
      return "ready";
    case child_event_kind::not_ready:
      return "not_ready";
    case child_event_kind::dependency_failed:
      return "dependency_failed";
    case child_event_kind::not_alive:
      return "not_alive";
    case child_event_kind::requested:
      return "requested";
    default:
      return "report";
  }
}

}  // namespace pipemux::detail
