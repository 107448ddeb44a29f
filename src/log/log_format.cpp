#include "pipemux/log_format.hpp"

#include <fmt/color.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include "log/batch_format.hpp"
#include "log/log_context.hpp"
#include "pipemux/name_escape.hpp"

namespace pipemux {
namespace detail {

log_context& current_log_context() noexcept {
  thread_local log_context context;
  return context;
}

}  // namespace detail

namespace {

using spdlog::details::padding_info;

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

template <class Int>
void append_int(spdlog::memory_buf_t& dest, Int value) {
  const fmt::format_int digits(value);
  dest.append(digits.data(), digits.data() + digits.size());
}

// A name is escaped like a child's text, bidirectional controls too: a newline, an escape
// sequence or a RIGHT-TO-LEFT OVERRIDE in it must neither forge a log line nor reach the
// terminal.
void append_name(spdlog::memory_buf_t& dest, std::string_view name) {
  if (!name_needs_escape(name)) return append(dest, name);
  std::string text;
  escape_name_into(name, text);
  append(dest, text);
}

void append_label(spdlog::memory_buf_t& dest, const child_info* child) {
  if (child == nullptr) return append(dest, "pipemux");
  append_name(dest, child->name);
  dest.push_back('.');
  append_int(dest, child->instance);  // numbered within its program, as foreman does
}

int pid_of(const child_info* child) {
  return child ? child->pid : static_cast<int>(::getpid());
}

// Columns `text` takes on a terminal: its UTF-8 characters (escaped text has no controls).
std::size_t columns(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Bytes of the first `wanted` columns of `text`.
std::size_t bytes_of_columns(std::string_view text, std::size_t wanted) {
  std::size_t i = 0;
  for (std::size_t seen = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == wanted) break;
  return i;
}

bool is_plain(const fmt::text_style& look) {
  return !look.has_foreground() && !look.has_background() && !look.has_emphasis();
}

// Appends `text` in `look`, padded (or cut, with '!') as `pad` says; colour takes no column.
void append_dressed(spdlog::memory_buf_t& dest, std::string_view text, const padding_info& pad,
                    const fmt::text_style& look = {}) {
  std::size_t used = columns(text);
  if (pad.truncate_ && used > pad.width_) {
    text = text.substr(0, bytes_of_columns(text, pad.width_));
    used = pad.width_;
  }
  const std::size_t fill = pad.width_ > used ? pad.width_ - used : 0;
  std::size_t before = 0;
  if (pad.side_ == padding_info::pad_side::left) before = fill;
  if (pad.side_ == padding_info::pad_side::center) before = fill / 2;
  for (std::size_t i = 0; i < before; ++i) dest.push_back(' ');
  if (is_plain(look))
    append(dest, text);
  else
    fmt::format_to(std::back_inserter(dest), look, "{}", text);
  for (std::size_t i = before; i < fill; ++i) dest.push_back(' ');
}

// "HH:MM:SS.uuuuuu" since `start` (never negative: a clock step back shows zero).
void append_elapsed(spdlog::memory_buf_t& dest, log_clock::duration elapsed) {
  using namespace std::chrono;
  const auto micros = std::max<long long>(0, duration_cast<microseconds>(elapsed).count());
  const long long seconds = micros / 1'000'000;
  fmt::format_to(std::back_inserter(dest), "{:02}:{:02}:{:02}.{:06}", seconds / 3600,
                 seconds / 60 % 60, seconds % 60, micros % 1'000'000);
}

// What a log_style asks for, ready to use: the colour of each program's label, and of the
// parts that must stand out. Shared, unchanged, by a formatter and its clones.
struct dress {
  explicit dress(const log_style& style)
      : label_width(style.label_width), color(style.color), run_start(style.run_start) {
    for (const auto& [name, code] : style.label_colors)
      label_colors.emplace(name, fmt::fg(static_cast<fmt::terminal_color>(code)));
  }

  fmt::text_style label_look(const child_info* child) const {
    if (!color || child == nullptr) return {};
    const auto it = label_colors.find(child->name);
    return it == label_colors.end() ? fmt::text_style{} : it->second;
  }
  fmt::text_style stream_look(std::string_view stream) const {
    return color && stream == "err" ? fmt::fg(fmt::terminal_color::red) : fmt::text_style{};
  }
  // pipemux's own warnings and errors stand out; a child's text keeps its own look.
  fmt::text_style text_look(char mark, spdlog::level::level_enum level) const {
    if (!color || mark != '*' || level < spdlog::level::warn) return {};
    if (level == spdlog::level::warn) return fmt::fg(fmt::terminal_color::yellow);
    return fmt::fg(fmt::terminal_color::red) | fmt::emphasis::bold;
  }
  padding_info label_padding() const {
    return padding_info(label_width, padding_info::pad_side::right, false);
  }

  std::size_t label_width;
  bool color;
  log_clock::time_point run_start;
  std::unordered_map<std::string, fmt::text_style> label_colors;
};

void append_dressed_label(spdlog::memory_buf_t& dest, const child_info* child,
                          const padding_info& pad, const dress& look) {
  spdlog::memory_buf_t label;
  append_label(label, child);
  append_dressed(dest, std::string_view(label.data(), label.size()), pad, look.label_look(child));
}

class child_flag final : public spdlog::custom_flag_formatter {
 public:
  child_flag(char flag, std::shared_ptr<const dress> look) : flag_(flag), look_(std::move(look)) {}

  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const detail::log_context& ctx = detail::current_log_context();
    spdlog::memory_buf_t text;
    switch (flag_) {
      case 'L':
        return append_dressed_label(dest, ctx.child,
                                    padinfo_.enabled() ? padinfo_ : look_->label_padding(), *look_);
      case 'N':
        append_name(text, ctx.child ? std::string_view(ctx.child->name) : "pipemux");
        return append_dressed(dest, view(text), padinfo_, look_->label_look(ctx.child));
      case 'k':
        ctx.child ? append_int(text, ctx.child->index) : append(text, "-");
        break;
      case 'w':
        append_int(text, pid_of(ctx.child));
        break;
      case 'J':
        return append_dressed(dest, ctx.stream, padinfo_, look_->stream_look(ctx.stream));
      case 'Z':
        text.push_back(ctx.mark);
        break;
      case 'q':
        append_elapsed(text, msg.time - look_->run_start);
        break;
      case 'v':  // only with colour: spdlog's own %v otherwise
        return append_dressed(dest, std::string_view(msg.payload.data(), msg.payload.size()),
                              padinfo_, look_->text_look(ctx.mark, msg.level));
    }
    append_dressed(dest, view(text), padinfo_);
  }

  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<child_flag>(flag_, look_);
  }

 private:
  static std::string_view view(const spdlog::memory_buf_t& text) {
    return {text.data(), text.size()};
  }

  char flag_;
  std::shared_ptr<const dress> look_;
};

// The three built-in patterns (absolute, relative, no time), written directly: "YYYY-mm-dd
// HH:MM:SS." is formatted once per second (localtime_r is the expensive part), the
// microseconds digit by digit, and the part that names the child ("spam.0[48213] out | ") is
// kept from the previous line, which in a read of many lines is the same child's. Everything
// goes into room reserved once per line.
class default_line_formatter final : public detail::batch_formatter {
 public:
  enum class stamp_kind : unsigned char { absolute, relative, none };

  default_line_formatter(stamp_kind stamp, std::shared_ptr<const dress> look)
      : stamp_(stamp), look_(std::move(look)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const detail::log_context& ctx = detail::current_log_context();
    write_header(msg.time, ctx.child, ctx.stream, ctx.mark);
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const fmt::text_style text_look = look_->text_look(ctx.mark, msg.level);
    if (is_plain(text_look)) return append_line(header_, text, dest);
    append(dest, header_);
    fmt::format_to(std::back_inserter(dest), text_look, "{}", text);
    dest.push_back('\n');
  }

  // The lines of one read share their arrival time and child, so the same header: it is
  // formatted once (again only when a line's mark differs) and each line is two copies.
  std::size_t format_lines(const detail::line_batch& batch, std::size_t next,
                           spdlog::memory_buf_t& dest, std::size_t enough) override {
    char header_mark = 0;  // no line's mark
    for (; next < batch.lines.size() && dest.size() < enough; ++next) {
      const detail::batch_line& line = batch.lines[next];
      if (line.mark != header_mark) {
        write_header(batch.when, batch.child, batch.stream, line.mark);
        header_mark = line.mark;
      }
      append_line(header_, line.text, dest);
    }
    return next;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<default_line_formatter>(stamp_, look_);
  }

 private:
  static constexpr std::size_t date_stamp_size = 27;  // "YYYY-mm-dd HH:MM:SS.uuuuuu "

  // header_ = the time (as stamp_ says), then the child's part.
  void write_header(log_clock::time_point when, const child_info* child, const char* stream,
                    char mark) {
    cache_prefix(child, stream, mark);
    header_.clear();
    if (stamp_ == stamp_kind::absolute) {
      char stamp[date_stamp_size];
      write_date_stamp(when, stamp);
      header_.append(stamp, date_stamp_size);
    } else if (stamp_ == stamp_kind::relative) {
      spdlog::memory_buf_t stamp;
      append_elapsed(stamp, when - look_->run_start);
      stamp.push_back(' ');
      header_.append(stamp.data(), stamp.size());
    }
    header_.append(prefix_);
  }

  void write_date_stamp(log_clock::time_point when, char* stamp) {
    using namespace std::chrono;
    const auto second = floor<seconds>(when);
    auto micros = duration_cast<microseconds>(when - second).count();
    cache_second(second);
    std::memcpy(stamp, date_, sizeof date_);
    for (int i = 5; i >= 0; --i, micros /= 10)
      stamp[sizeof date_ + i] = static_cast<char>('0' + micros % 10);
    stamp[date_stamp_size - 1] = ' ';
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
    append_dressed_label(text, child, look_->label_padding(), *look_);
    text.push_back('[');
    append_int(text, pid);
    append(text, "] ");
    append_dressed(text, stream, padding_info{}, look_->stream_look(stream));
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

  stamp_kind stamp_;
  std::shared_ptr<const dress> look_;
  std::chrono::sys_seconds cached_second_{std::chrono::seconds(-1)};
  char date_[20] = {};  // "YYYY-mm-dd HH:MM:SS."
  std::string prefix_;
  std::string header_;  // the time, then prefix_
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
  return dynamic_cast<const batch_formatter*>(&formatter) != nullptr;
}

std::optional<std::size_t> format_batch(spdlog::formatter& formatter, const line_batch& batch,
                                        std::size_t first, spdlog::memory_buf_t& dest,
                                        std::size_t enough) {
  auto* lines = dynamic_cast<batch_formatter*>(&formatter);
  if (lines == nullptr) return std::nullopt;
  return lines->format_lines(batch, first, dest, enough);
}

}  // namespace detail

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern,
                                                      const log_style& style,
                                                      bool allow_fast_path) {
  auto look = std::make_shared<const dress>(style);
  using stamp_kind = default_line_formatter::stamp_kind;
  if (allow_fast_path) {
    if (pattern == default_log_pattern)
      return std::make_unique<default_line_formatter>(stamp_kind::absolute, look);
    if (pattern == relative_log_pattern)
      return std::make_unique<default_line_formatter>(stamp_kind::relative, look);
    if (pattern == untimed_log_pattern)
      return std::make_unique<default_line_formatter>(stamp_kind::none, look);
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  for (char flag : {'L', 'N', 'k', 'w', 'J', 'Z', 'q'})
    formatter->add_flag<child_flag>(flag, flag, look);
  if (style.color) formatter->add_flag<child_flag>('v', 'v', look);
  formatter->set_pattern(pattern);
  return formatter;
}

std::size_t widest_label(std::span<const program_spec> programs) {
  std::size_t widest = 0;
  for (const auto& spec : programs) {
    if (spec.instances == 0) continue;
    spdlog::memory_buf_t label;  // its last child's: instances count within each program
    append_name(label, spec.name);
    label.push_back('.');
    append_int(label, spec.instances - 1);
    widest = std::max(widest, columns(std::string_view(label.data(), label.size())));
  }
  return widest;
}

}  // namespace pipemux
