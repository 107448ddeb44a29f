#include "pipemux/json_format.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string_view>

#include "log/batch_format.hpp"
#include "log/log_context.hpp"
#include "text/bidi_control.hpp"
#include "text/plain_text.hpp"
#include "text/utf8.hpp"

namespace pipemux {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// Whether `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = detail::utf8_sequence_length(p + i, n - i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// A JSON string of valid UTF-8 `text`: quotes, backslashes and control characters escaped,
// and with `bidi_escaped` (a name's) the bidirectional controls as \uXXXX too.
void append_json_string(spdlog::memory_buf_t& dest, std::string_view text,
                        bool bidi_escaped = false) {
  static constexpr char hex[] = "0123456789abcdef";
  dest.push_back('"');
  std::size_t plain_from = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
      const detail::bidi_control control =
          bidi_escaped ? detail::bidi_control_at(text, i) : detail::bidi_control{};
      if (control.length == 0) continue;
      append(dest, text.substr(plain_from, i - plain_from));
      fmt::format_to(std::back_inserter(dest), "\\u{:04x}",
                     static_cast<std::uint32_t>(control.code));
      i += control.length - 1;
      plain_from = i + 1;
      continue;
    }
    append(dest, text.substr(plain_from, i - plain_from));
    plain_from = i + 1;
    dest.push_back('\\');
    switch (c) {
      case '"':
        dest.push_back('"');
        break;
      case '\\':
        dest.push_back('\\');
        break;
      case '\n':
        dest.push_back('n');
        break;
      case '\t':
        dest.push_back('t');
        break;
      case '\r':
        dest.push_back('r');
        break;
      default:  // other controls, and DEL, which JSON allows raw but terminals act on
        append(dest, "u00");
        dest.push_back(hex[c >> 4]);
        dest.push_back(hex[c & 0xF]);
    }
  }
  append(dest, text.substr(plain_from));
  dest.push_back('"');
}

void append_base64(spdlog::memory_buf_t& dest, std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  dest.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = unsigned{p[i]} << 16 | unsigned{p[i + 1]} << 8 | p[i + 2];
    for (int shift : {18, 12, 6, 0}) dest.push_back(alphabet[(v >> shift) & 63]);
  }
  if (const std::size_t left = bytes.size() - i; left > 0) {
    const unsigned v = unsigned{p[i]} << 16 | (left == 2 ? unsigned{p[i + 1]} << 8 : 0U);
    dest.push_back(alphabet[(v >> 18) & 63]);
    dest.push_back(alphabet[(v >> 12) & 63]);
    dest.push_back(left == 2 ? alphabet[(v >> 6) & 63] : '=');
    dest.push_back('=');
  }
  dest.push_back('"');
}

const char* level_name(spdlog::level::level_enum level) {
  if (level >= spdlog::level::err) return "error";
  if (level == spdlog::level::warn) return "warning";
  return "info";
}

void append_status(spdlog::memory_buf_t& dest, const exit_status& status) {
  if (status.signaled)
    fmt::format_to(std::back_inserter(dest), ",\"signal\":\"{}\"", signal_name(status.signal));
  else
    fmt::format_to(std::back_inserter(dest), ",\"code\":{}", status.code);
}

// "{...,"kind":"" up to a message's kind, then the kind, the message, and what a report adds.
class json_formatter final : public detail::batch_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const detail::log_context& ctx = detail::current_log_context();
    const bool report = ctx.mark == '*';
    append_head(msg.time, ctx.child, report ? nullptr : ctx.stream, dest);
    append(dest, report ? detail::report_kind(ctx) : detail::output_kind(ctx.mark));
    dest.push_back('"');
    if (report) {
      append(dest, ",\"level\":\"");
      append(dest, level_name(msg.level));
      dest.push_back('"');
    }
    append_message(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    if (ctx.event != nullptr && ctx.event->kind == child_event_kind::exited && ctx.event->status) {
      append_status(dest, *ctx.event->status);
      fmt::format_to(std::back_inserter(dest), ",\"run_time_s\":{:.6f}",
                     std::chrono::duration<double>(ctx.event->run_time).count());
    }
    if (ctx.summary != nullptr) {
      if (ctx.summary->status) append_status(dest, *ctx.summary->status);
      fmt::format_to(std::back_inserter(dest), ",\"messages\":{},\"bytes\":{},\"restarts\":{}",
                     ctx.summary->messages, ctx.summary->bytes, ctx.summary->restarts);
    }
    append(dest, "}\n");
  }

  // The lines of one read share their time, child and stream: that head is written once, and
  // with a line's kind and the start of its message too (again only when a line's mark
  // differs), so that a plain line is three copies into room reserved once.
  std::size_t format_lines(const detail::line_batch& batch, std::size_t next,
                           spdlog::memory_buf_t& dest, std::size_t enough) override {
    head_.clear();
    append_head(batch.when, batch.child, batch.stream, head_);
    const std::size_t head_size = head_.size();
    char head_mark = 0;  // no line's mark
    for (; next < batch.lines.size() && dest.size() < enough; ++next) {
      const detail::batch_line& line = batch.lines[next];
      if (line.mark != head_mark) {
        head_.resize(head_size);
        append(head_, detail::output_kind(line.mark));
        append(head_, "\",\"message\":\"");
        head_mark = line.mark;
      }
      if (detail::plain_json_string(line.text)) {
        append_plain_line(line.text, dest);
        continue;
      }
      // Up to the kind's closing quote; the message as it must be written.
      dest.append(head_.data(), head_.data() + head_.size() - message_start.size() + 1);
      append_message(line.text, dest);
      append(dest, "}\n");
    }
    return next;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }

 private:
  // Everything before the kind's name; `stream` is left out when null (a report).
  void append_head(log_clock::time_point when, const child_info* child, const char* stream,
                   spdlog::memory_buf_t& dest) {
    append(dest, "{\"time\":\"");
    append_time(when, dest);
    append(dest, "\",\"name\":");
    if (child != nullptr) {
      append_json_string(dest, child->name, true);
      fmt::format_to(std::back_inserter(dest), ",\"index\":{},\"instance\":{},\"pid\":{}",
                     child->index, child->instance, child->pid);
    } else {
      fmt::format_to(std::back_inserter(dest), "\"pipemux\",\"pid\":{}", ::getpid());
    }
    if (stream != nullptr) {
      append(dest, ",\"stream\":\"");
      append(dest, stream);
      dest.push_back('"');
    }
    append(dest, ",\"kind\":\"");
  }

  // After `"kind":"`: the kind's name's end and the message's start.
  static constexpr std::string_view message_start = "\",\"message\":\"";

  // head_ (up to the message's first character), the text as it is, and the end.
  void append_plain_line(std::string_view text, spdlog::memory_buf_t& dest) const {
    constexpr std::string_view end = "\"}\n";
    const std::size_t start = dest.size();
    dest.try_resize(start + head_.size() + text.size() + end.size());
    char* out = dest.data() + start;
    std::memcpy(out, head_.data(), head_.size());
    out += head_.size();
    std::memcpy(out, text.data(), text.size());
    out += text.size();
    std::memcpy(out, end.data(), end.size());
  }

  static void append_message(std::string_view text, spdlog::memory_buf_t& dest) {
    if (detail::plain_json_string(text)) {  // most lines: checked sixteen bytes at a time
      append(dest, ",\"message\":\"");
      append(dest, text);
      dest.push_back('"');
    } else if (valid_utf8(text)) {
      append(dest, ",\"message\":");
      append_json_string(dest, text);
    } else {
      append(dest, ",\"message_base64\":");
      append_base64(dest, text);
    }
  }

  // "2026-11-30T18:40:00.123456Z": the part to the second is formatted once a second.
  void append_time(log_clock::time_point when, spdlog::memory_buf_t& dest) {
    using namespace std::chrono;
    const auto second = floor<seconds>(when);
    if (second != cached_second_) {
      cached_second_ = second;
      const std::time_t t = second.time_since_epoch().count();
      std::tm tm{};
      ::gmtime_r(&t, &tm);
      std::strftime(date_, sizeof date_, "%Y-%m-%dT%H:%M:%S.", &tm);
    }
    append(dest, date_);
    fmt::format_to(std::back_inserter(dest), "{:06}Z",
                   duration_cast<microseconds>(when - second).count());
  }

  std::chrono::sys_seconds cached_second_{std::chrono::seconds(-1)};
  char date_[32] = {};
  spdlog::memory_buf_t head_;  // format_lines: the batch's head, reused
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<json_formatter>();
}

}  // namespace pipemux
