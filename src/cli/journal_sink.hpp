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
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace pipemux::cli {

class journal_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  /// The fields of one entry, "NAME=value" each; returns 0 or a negative errno.
  using sender = std::function<int(const std::vector<std::string>& fields)>;

  /// Sends with libsystemd's sd_journal_sendv.
  journal_sink();
  /// Sends with `send` instead (for tests).
  explicit journal_sink(sender send);

  /// Called once, with the first entry that could not be sent (journald is not running, or
  /// restarting); every one is counted in failed() and dropped. A supervisor does not stop its
  /// children because journald restarted.
  void on_error(std::function<void(std::error_code)> handler);
  std::size_t failed() const noexcept { return failed_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  sender send_;
  std::vector<std::string> fields_;  // reused
  std::function<void(std::error_code)> on_error_;
  std::size_t failed_ = 0;
};

/// Whether standard output is the journal: JOURNAL_STREAM ("DEVICE:INODE", set by systemd for
/// a service whose output goes to the journal) names the file standard output is.
bool stdout_is_journal(const std::optional<std::string>& journal_stream);

}  // namespace pipemux::cli
