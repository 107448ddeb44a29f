#include "log/syslog_message.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <chrono>
#include <climits>
#include <ctime>
#include <string_view>

#include "log/log_context.hpp"

namespace pipemux {
namespace {

// RFC 5424's header fields are printable US-ASCII without spaces, each with a length limit.
void append_header_field(std::string& out, std::string_view value, std::size_t max) {
  if (value.empty()) {
    out += '-';
    return;
  }
  for (std::size_t i = 0; i < value.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    out += c > 32 && c < 127 ? static_cast<char>(c) : '_';
  }
}

// An SD-PARAM value: '"', '\' and ']' are escaped with a backslash.
void append_param(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  out += '"';
}

// RFC 3339 in UTC with microseconds: 2026-11-30T21:33:41.123456Z.
void append_timestamp(std::string& out, std::chrono::system_clock::time_point when) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, micros % 1'000'000);
}

}  // namespace

int syslog_severity(const detail::log_context& ctx, spdlog::level::level_enum level) {
  if (ctx.mark != '*') return std::string_view(ctx.stream) == "err" ? 3 : 6;
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    default:
      return 6;
  }
}

std::string_view rfc5424_msgid(const detail::log_context& ctx) {
  return ctx.mark == '*' ? detail::report_kind(ctx) : detail::output_kind(ctx.mark);
}

void append_rfc5424(std::string& out, const spdlog::details::log_msg& msg, int facility,
                    const std::string& hostname) {
  append_rfc5424_header(out, msg, facility, hostname, rfc5424_msgid(detail::current_log_context()));
  out.append(msg.payload.data(), msg.payload.size());
}

void append_rfc5424_header(std::string& out, const spdlog::details::log_msg& msg, int facility,
                           const std::string& hostname, std::string_view msgid,
                           std::optional<std::uint64_t> sequence) {
  const detail::log_context& ctx = detail::current_log_context();
  const bool report = ctx.mark == '*';
  fmt::format_to(std::back_inserter(out), "<{}>1 ", facility * 8 + syslog_severity(ctx, msg.level));
  append_timestamp(out, msg.time);
  out += ' ';
  append_header_field(out, hostname, 255);
  out += ' ';
  append_header_field(out, ctx.child != nullptr ? std::string_view(ctx.child->name) : "pipemux",
                      48);
  out += ' ';
  out += std::to_string(ctx.child != nullptr ? ctx.child->pid : ::getpid());
  out += ' ';
  out += msgid;
  out += ' ';
  if (ctx.child != nullptr) {
    out += "[pipemux@32473";
    append_param(out, "index", std::to_string(ctx.child->index));
    append_param(out, "instance", std::to_string(ctx.child->instance));
    if (!report) append_param(out, "stream", ctx.stream);
    if (sequence) append_param(out, "seq", std::to_string(*sequence));
    out += ']';
  } else if (sequence) {
    out += "[pipemux@32473";
    append_param(out, "seq", std::to_string(*sequence));
    out += ']';
  } else {
    out += '-';
  }
  out += ' ';
}

std::string syslog_hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "-";
  return name;
}

}  // namespace pipemux
