#include "pipemux/log_format.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>

#include <unistd.h>
#include <chrono>
#include <ctime>

#include "log_context.hpp"

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

void append_label(spdlog::memory_buf_t& dest, const child_info* child) {
  if (child == nullptr) return append(dest, "pipemux");
  append(dest, child->name);
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
        append(dest, ctx.child ? std::string_view(ctx.child->name) : "pipemux");
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
// (localtime_r is the expensive part), the microseconds digit by digit, the rest appended.
class default_line_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto second = time_point_cast<seconds>(msg.time);
    auto micros = duration_cast<microseconds>(msg.time - second).count();
    if (micros < 0) {  // before 1970: floor, not truncate
      micros += 1'000'000;
      cache_second(second - seconds(1));
    } else {
      cache_second(second);
    }
    dest.append(date_, date_ + sizeof date_);
    char digits[6];
    for (int i = 5; i >= 0; --i, micros /= 10) digits[i] = static_cast<char>('0' + micros % 10);
    dest.append(digits, digits + 6);
    dest.push_back(' ');
    const detail::log_context& ctx = detail::current_log_context();
    append_label(dest, ctx.child);
    dest.push_back('[');
    append_int(dest, pid_of(ctx.child));
    append(dest, "] ");
    append(dest, ctx.stream);
    dest.push_back(' ');
    dest.push_back(ctx.mark);
    dest.push_back(' ');
    dest.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<default_line_formatter>();
  }

 private:
  void cache_second(std::chrono::sys_seconds second) {
    if (second == cached_) return;
    cached_ = second;
    const std::time_t t = second.time_since_epoch().count();
    std::tm tm{};
    ::localtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S.", &tm);
    std::copy_n(text, sizeof date_, date_);
  }

  std::chrono::sys_seconds cached_{std::chrono::seconds(-1)};
  char date_[20] = {};  // "YYYY-mm-dd HH:MM:SS."
};

}  // namespace

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
