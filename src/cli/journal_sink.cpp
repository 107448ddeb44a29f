#include "journal_sink.hpp"

#include <systemd/sd-journal.h>

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <system_error>

// The identity the adapter publishes for the message being logged (the formatters read it too).
#include "log_context.hpp"
#include "syslog_message.hpp"

namespace pipemux::cli {
namespace {

int send_to_journal(const std::vector<std::string>& fields) {
  std::vector<iovec> parts;
  parts.reserve(fields.size());
  for (const auto& field : fields) parts.push_back({const_cast<char*>(field.data()), field.size()});
  // A signal (SIGCHLD, as children exit) may interrupt the send: that is no failure.
  int result = 0;
  do result = sd_journal_sendv(parts.data(), static_cast<int>(parts.size()));
  while (result == -EINTR);
  return result;
}

}  // namespace

journal_sink::journal_sink() : journal_sink(send_to_journal) {}

journal_sink::journal_sink(sender send) : send_(std::move(send)) {}

void journal_sink::on_error(std::function<void(std::error_code)> handler) {
  on_error_ = std::move(handler);
}

void journal_sink::sink_it_(const spdlog::details::log_msg& msg) {
  const detail::log_context& ctx = detail::current_log_context();
  const bool report = ctx.mark == '*';
  fields_.clear();
  fields_.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
  fields_.push_back("PRIORITY=" + std::to_string(syslog_severity(ctx, msg.level)));
  fields_.push_back("SYSLOG_IDENTIFIER=" + (ctx.child != nullptr ? ctx.child->name : "pipemux"));
  fields_.push_back("SYSLOG_PID=" +
                    std::to_string(ctx.child != nullptr ? ctx.child->pid : ::getpid()));
  fields_.push_back(std::string("PIPEMUX_KIND=") +
                    (report ? detail::report_kind(ctx) : detail::output_kind(ctx.mark)));
  if (ctx.child != nullptr) {
    fields_.push_back("PIPEMUX_CHILD_INDEX=" + std::to_string(ctx.child->index));
    fields_.push_back("PIPEMUX_CHILD_INSTANCE=" + std::to_string(ctx.child->instance));
    if (!report) fields_.push_back(std::string("PIPEMUX_STREAM=") + ctx.stream);
  }
  const int result = send_(fields_);
  if (result < 0 && failed_++ == 0 && on_error_)
    on_error_(std::error_code(-result, std::system_category()));
}

bool stdout_is_journal(const std::optional<std::string>& journal_stream) {
  if (!journal_stream) return false;
  const std::string_view value = *journal_stream;
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long device = 0, inode = 0;
  const auto d = std::from_chars(value.data(), value.data() + colon, device);
  const auto i = std::from_chars(value.data() + colon + 1, value.data() + value.size(), inode);
  if (d.ec != std::errc() || d.ptr != value.data() + colon || i.ec != std::errc() ||
      i.ptr != value.data() + value.size())
    return false;
  struct stat out {};
  return ::fstat(STDOUT_FILENO, &out) == 0 && out.st_dev == device && out.st_ino == inode;
}

}  // namespace pipemux::cli
