// A spdlog sink that sends each message to the systemd journal as a native entry, with the
// child's identity as fields (as systemd itself logs a unit's output), not as text in the
// message: journalctl -t web, PIPEMUX_CHILD_INDEX=2, -p err all work.
//
// Fields: MESSAGE (the child's bytes as they are: binary is sent length-prefixed, so nothing
// is lost), PRIORITY (6 for out, 3 for err, a report's by its level), SYSLOG_IDENTIFIER (the
// program's name, or "pipemux"), SYSLOG_PID (the child's pid, or pipemux's), and
// PIPEMUX_CHILD_INDEX, PIPEMUX_CHILD_INSTANCE, PIPEMUX_STREAM (out, err), PIPEMUX_KIND (line,
// piece, partial, raw; start, exit, restart, stop, error, summary, report). No timestamp: the
// journal has its own.
//
// The entries are written in the journal's native protocol
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), one datagram each, by a socket_sender on the
// event loop: a journald that stops reading backlogs it (the CLI stops reading the children)
// and never blocks the loop; one that is not there is buffered for, then counted.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pipemux/socket_sender.hpp"

namespace pipemux {

class journal_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  /// Where journald takes native entries.
  static constexpr const char* socket_path = "/run/systemd/journal/socket";
  /// A longer MESSAGE is sent in entries of this many bytes, PIPEMUX_KIND=piece on all but the
  /// last: one datagram must fit the socket's send buffer (about 200 KB by default, EMSGSIZE
  /// beyond), and this is pipemux's default max_line, so a line the text log keeps whole is one
  /// entry too.
  static constexpr std::size_t max_message = std::size_t{64} << 10;

  /// Sends through `sender`, a unix datagram socket_sender (to socket_path, or a test's).
  explicit journal_sink(std::shared_ptr<socket_sender> sender) : sender_(std::move(sender)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}  // the sender writes as soon as the socket takes it

 private:
  std::shared_ptr<socket_sender> sender_;
};

/// Appends one field of a native journal entry to `entry`: "NAME=value\n", or for a value with
/// a newline "NAME\n", its length as 64-bit little-endian, the value and "\n".
void append_journal_field(std::string& entry, std::string_view name, std::string_view value);

/// Whether standard output is the journal: JOURNAL_STREAM ("DEVICE:INODE", set by systemd for
/// a service whose output goes to the journal) names the file standard output is.
bool stdout_is_journal(const std::optional<std::string>& journal_stream);

}  // namespace pipemux
