// One RFC 5424 syslog message for what pipemux logs:
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [pipemux@32473 index="2" instance="0"
//   stream="out" seq="17"] MSG
// PRI is the facility and the severity (info for out, err for err, a report's by its level);
// APP-NAME the program's name (or "pipemux"), PROCID the child's pid, MSGID the kind (line,
// start, exit, ...: the JSON kinds), seq a number the sink may give (syslog_sink.hpp), MSG the
// child's bytes as they are. 32473 is RFC 5612's
// example enterprise number: pipemux has none of its own.
#pragma once

#include <spdlog/details/log_msg.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "log/log_context.hpp"

namespace pipemux {

/// syslog's severity for the message being logged: 6 (info) for a child's out, 3 (err) for its
/// err, a report's by its level (4 for a warning). The journal's PRIORITY is the same number.
int syslog_severity(const detail::log_context& ctx, spdlog::level::level_enum level);

/// Appends the message being logged (`msg`, with the identity the adapter published) to `out`.
void append_rfc5424(std::string& out, const spdlog::details::log_msg& msg, int facility,
                    const std::string& hostname);

/// Appends the message's header to `out`, all but MSG (its trailing space included), with
/// `msgid` as its MSGID ("piece" for a piece of a message too long to send whole), and its
/// `sequence` number as seq="N" when it has one.
void append_rfc5424_header(std::string& out, const spdlog::details::log_msg& msg, int facility,
                           const std::string& hostname, std::string_view msgid,
                           std::optional<std::uint64_t> sequence = std::nullopt);

/// The message's MSGID: its kind (line, piece, partial, raw; start, exit, ...).
std::string_view rfc5424_msgid(const detail::log_context& ctx);

/// This machine's name for HOSTNAME ("-" when it has none).
std::string syslog_hostname();

}  // namespace pipemux
