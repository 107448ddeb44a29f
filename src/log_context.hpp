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

}  // namespace pipemux::detail
