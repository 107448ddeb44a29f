// JSON lines: one object per message, for a collector (Fluent Bit, Vector, Loki, a container
// runtime's log driver) instead of a person.
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace pipemux {

/// A formatter that writes each message as one JSON object on a line of its own:
///   {"time":"2026-11-30T18:40:00.123456Z","name":"web","index":0,"instance":0,"pid":4242,
///    "stream":"out","kind":"line","message":"GET / 200"}
/// - `time`: arrival, RFC 3339 in UTC to the microsecond.
/// - `kind`: a child's output is "line" (a newline followed it), "piece" (a part of a longer
///   line: no newline follows), "partial" (its last bytes, without a newline) or "raw" (a read,
///   in raw framing); pipemux's own reports are "start", "exit", "restart", "stop", "error",
///   "summary" or "report" (the rest), with `level` ("info", "warning", "error").
/// - `message`: the bytes as JSON text when they are valid UTF-8; otherwise no `message` but
///   `message_base64`, the bytes in base64. Either way a child's bytes are given back exactly
///   by joining its output messages in order, with a newline after each "line".
/// - Exit reports and summaries add `code` (an exit code) or `signal` ("SIGTERM"), and
///   `run_time_s` (exit) or `messages`, `bytes` and `restarts` (summary).
/// Pipemux's own lines (not about a child) have `name` "pipemux" and its pid, no index.
/// Log through a spdlog_adapter with pass_raw_bytes(true): the formatter escapes for itself.
std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace pipemux
