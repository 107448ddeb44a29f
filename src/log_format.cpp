#include "pipemux/log_format.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>

#include <unistd.h>
#include <chrono>
#include <cstring>
#include <ctime>

#include "batch_format.hpp"
#include "log_context.hpp"
#include "pipemux/escape.hpp"

namespace pipemux {
namespace detail {

log_context& current_log_context() noexcept {
  thread_local log_context context;
  return context;
}

}  // namespace detail

namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

template <class Int>
void append_int(spdlog::memory_buf_t& dest, Int value) {
  const fmt::format_int digits(value);
  dest.append(digits.data(), digits.data() + digits.size());
}

// A name is escaped like a child's text: a newline or an escape sequence in it must neither
// forge a log line nor reach the terminal.
void append_name(spdlog::memory_buf_t& dest, std::string_view name) {
  if (!needs_escape(name)) return append(dest, name);
  std::string text;
  escape_into(name, text);
  append(dest, text);
}

void append_label(spdlog::memory_buf_t& dest, const child_info* child) {
  if (child == nullptr) return append(dest, "pipemux");
  append_name(dest, child->name);
  dest.push_back('.');
  append_int(dest, child->index);
}

int pid_of(const child_info* child) {
  return child ? child->pid : static_cast<int>(::getpid());
}

class child_flag final : public spdlog::custom_flag_formatter {
 public:
  explicit child_flag(char flag) : flag_(flag) {}

  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const detail::log_context& ctx = detail::current_log_context();
    switch (flag_) {
      case 'L':
        append_label(dest, ctx.child);
        break;
      case 'N':
        append_name(dest, ctx.child ? std::string_view(ctx.child->name) : "pipemux");
        break;
      case 'k':
        ctx.child ? append_int(dest, ctx.child->index) : append(dest, "-");
        break;
      case 'w':
        append_int(dest, pid_of(ctx.child));
        break;
      case 'J':
        append(dest, ctx.stream);
        break;
      case 'Z':
        dest.push_back(ctx.mark);
        break;
    }
  }

  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<child_flag>(flag_);
  }

 private:
  char flag_;
};

// default_log_pattern, written directly: "YYYY-mm-dd HH:MM:SS." is formatted once per second
// (localtime_r is the expensive part), the microseconds digit by digit, and the part that
// names the child ("spam.0[48213] out | ") is kept from the previous line, which in a read of
// many lines is the same child's. Everything goes into room reserved once per line.
class default_line_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const detail::log_context& ctx = detail::current_log_context();
    char stamp[stamp_size];
    write_stamp(msg.time, stamp);
    cache_prefix(ctx.child, ctx.stream, ctx.mark);
    header_.assign(stamp, stamp_size).append(prefix_);
    append_line(header_, std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }

  // The lines of one read share their arrival time and child, so the same header: it is
  // formatted once (again only when a line's mark differs) and each line is two copies.
  std::size_t format_lines(const detail::line_batch& batch, std::size_t next,
                           spdlog::memory_buf_t& dest, std::size_t enough) {
    char stamp[stamp_size];
    write_stamp(batch.when, stamp);
    char header_mark = 0;  // no line's mark
    for (; next < batch.lines.size() && dest.size() < enough; ++next) {
      const detail::batch_line& line = batch.lines[next];
      if (line.mark != header_mark) {
        cache_prefix(batch.child, batch.stream, line.mark);
        header_.assign(stamp, stamp_size).append(prefix_);
        header_mark = line.mark;
      }
      append_line(header_, line.text, dest);
    }
    return next;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<default_line_formatter>();
  }

 private:
  static constexpr std::size_t stamp_size = 27;  // "YYYY-mm-dd HH:MM:SS.uuuuuu "

  void write_stamp(log_clock::time_point when, char* stamp) {
    using namespace std::chrono;
    const auto second = floor<seconds>(when);
    auto micros = duration_cast<microseconds>(when - second).count();
    cache_second(second);
    std::memcpy(stamp, date_, sizeof date_);
    for (int i = 5; i >= 0; --i, micros /= 10)
      stamp[sizeof date_ + i] = static_cast<char>('0' + micros % 10);
    stamp[stamp_size - 1] = ' ';
  }

  static void append_line(std::string_view header, std::string_view text,
                          spdlog::memory_buf_t& dest) {
    const std::size_t start = dest.size();
    dest.try_resize(start + header.size() + text.size() + 1);
    char* out = dest.data() + start;
    std::memcpy(out, header.data(), header.size());
    out += header.size();
    std::memcpy(out, text.data(), text.size());
    out += text.size();
    *out++ = '\n';
    dest.try_resize(static_cast<std::size_t>(out - dest.data()));
  }

  void cache_second(std::chrono::sys_seconds second) {
    if (second == cached_second_) return;
    cached_second_ = second;
    const std::time_t t = second.time_since_epoch().count();
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S.", &tm);
    std::memcpy(date_, text, sizeof date_);
  }

  void cache_prefix(const child_info* child, const char* stream, char mark) {
    const int pid = pid_of(child);
    if (prefix_valid_ && child == prefix_child_ && pid == prefix_pid_ && stream == prefix_stream_ &&
        mark == prefix_mark_ && (child == nullptr || child->index == prefix_index_))
      return;
    spdlog::memory_buf_t text;
    append_label(text, child);
    text.push_back('[');
    append_int(text, pid);
    append(text, "] ");
    append(text, stream);
    text.push_back(' ');
    text.push_back(mark);
    text.push_back(' ');
    prefix_.assign(text.data(), text.size());
    prefix_valid_ = true;
    prefix_child_ = child;
    prefix_pid_ = pid;
    prefix_stream_ = stream;
    prefix_mark_ = mark;
    prefix_index_ = child ? child->index : 0;
  }

  std::chrono::sys_seconds cached_second_{std::chrono::seconds(-1)};
  char date_[20] = {};  // "YYYY-mm-dd HH:MM:SS."
  std::string prefix_;
  std::string header_;  // the stamp, then prefix_
  bool prefix_valid_ = false;
  const child_info* prefix_child_ = nullptr;
  int prefix_pid_ = 0;
  const char* prefix_stream_ = nullptr;
  char prefix_mark_ = 0;
  std::size_t prefix_index_ = 0;
};

}  // namespace

namespace detail {

bool format_batch_supported(const spdlog::formatter& formatter) noexcept {
  return dynamic_cast<const default_line_formatter*>(&formatter) != nullptr;
}

std::optional<std::size_t> format_batch(spdlog::formatter& formatter, const line_batch& batch,
                                        std::size_t first, spdlog::memory_buf_t& dest,
                                        std::size_t enough) {
  auto* fast = dynamic_cast<default_line_formatter*>(&formatter);
  if (fast == nullptr) return std::nullopt;
  return fast->format_lines(batch, first, dest, enough);
}

}  // namespace detail

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern,
                                                      bool allow_fast_path) {
  if (allow_fast_path && pattern == default_log_pattern)
    return std::make_unique<default_line_formatter>();
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  for (char flag : {'L', 'N', 'k', 'w', 'J', 'Z'}) formatter->add_flag<child_flag>(flag, flag);
  formatter->set_pattern(pattern);
  return formatter;
}

}  // namespace pipemux
