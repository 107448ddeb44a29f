#include "pipemux/journal_sink.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <charconv>
#include <cstdint>
#include <string_view>

// The identity the adapter publishes for the message being logged (the formatters read it too).
#include "log/log_context.hpp"
#include "log/message_pieces.hpp"
#include "log/syslog_message.hpp"

namespace pipemux {

void append_journal_field(std::string& entry, std::string_view name, std::string_view value) {
  entry += name;
  if (value.find('\n') == std::string_view::npos) {
    entry += '=';
    entry += value;
  } else {
    entry += '\n';
    std::uint64_t size = value.size();
    for (int i = 0; i < 8; ++i, size >>= 8) entry += static_cast<char>(size & 0xFF);
    entry += value;
  }
  entry += '\n';
}

void journal_sink::sink_it_(const spdlog::details::log_msg& msg) {
  const detail::log_context& ctx = detail::current_log_context();
  const bool report = ctx.mark == '*';
  const std::string priority = std::to_string(syslog_severity(ctx, msg.level));
  const std::string pid = std::to_string(ctx.child != nullptr ? ctx.child->pid : ::getpid());
  const std::string_view kind = report ? detail::report_kind(ctx) : detail::output_kind(ctx.mark);
  for_each_piece(std::string_view(msg.payload.data(), msg.payload.size()), max_message,
                 [&](std::string_view piece, bool last) {
                   std::string entry;
                   append_journal_field(entry, "MESSAGE", piece);
                   append_journal_field(entry, "PRIORITY", priority);
                   append_journal_field(entry, "SYSLOG_IDENTIFIER",
                                        ctx.child != nullptr ? ctx.child->name : "pipemux");
                   append_journal_field(entry, "SYSLOG_PID", pid);
                   append_journal_field(entry, "PIPEMUX_KIND", last ? kind : "piece");
                   if (ctx.child != nullptr) {
                     append_journal_field(entry, "PIPEMUX_CHILD_INDEX",
                                          std::to_string(ctx.child->index));
                     append_journal_field(entry, "PIPEMUX_CHILD_INSTANCE",
                                          std::to_string(ctx.child->instance));
                     if (!report) append_journal_field(entry, "PIPEMUX_STREAM", ctx.stream);
                   }
                   sender_->send(std::move(entry));
                 });
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

}  // namespace pipemux
