#include "pipemux/spdlog_adapter.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <boost/asio/post.hpp>

#include <unistd.h>

#include "pipemux/escape.hpp"

namespace pipemux {
namespace {

// spdlog's log_msg has no room for our fields, and a synchronous logger formats on the calling
// thread: so the adapter publishes the message being logged here, and the flags read it.
struct log_context {
  const child_info* child = nullptr;
  const char* stream = "-";
  char mark = '*';
};
thread_local log_context current_context;

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

template <class Int>
void append_int(spdlog::memory_buf_t& dest, Int value) {
  const fmt::format_int digits(value);
  dest.append(digits.data(), digits.data() + digits.size());
}

class child_flag final : public spdlog::custom_flag_formatter {
 public:
  explicit child_flag(char flag) : flag_(flag) {}

  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const log_context& ctx = current_context;
    switch (flag_) {
      case 'L':
        if (ctx.child == nullptr) {
          append(dest, "pipemux");
          break;
        }
        append(dest, ctx.child->name);
        dest.push_back('.');
        append_int(dest, ctx.child->index);
        break;
      case 'N':
        append(dest, ctx.child ? std::string_view(ctx.child->name) : "pipemux");
        break;
      case 'k':
        ctx.child ? append_int(dest, ctx.child->index) : append(dest, "-");
        break;
      case 'w':
        append_int(dest, ctx.child ? ctx.child->pid : static_cast<int>(::getpid()));
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

char mark_of(piece_kind kind) {
  switch (kind) {
    case piece_kind::line:
      return '|';
    case piece_kind::continued:
      return '+';
    case piece_kind::partial:
      return '%';
    case piece_kind::chunk:
      return '~';
  }
  return '?';
}

spdlog::level::level_enum level_of(const child_event& e) {
  switch (e.kind) {
    case child_event_kind::started:
      return spdlog::level::info;
    case child_event_kind::spawn_failed:
      return spdlog::level::err;
    case child_event_kind::exited:
      return e.status && e.status->success() ? spdlog::level::info : spdlog::level::warn;
    default:
      return spdlog::level::warn;
  }
}

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  for (char flag : {'L', 'N', 'k', 'w', 'J', 'Z'}) formatter->add_flag<child_flag>(flag, flag);
  formatter->set_pattern(pattern);
  return formatter;
}

spdlog_adapter::spdlog_adapter(std::shared_ptr<spdlog::logger> logger,
                               boost::asio::any_io_executor flush_executor, identity_in identity)
    : logger_(std::move(logger)), flush_executor_(std::move(flush_executor)), identity_(identity) {}

void spdlog_adapter::operator()(const message& m) {
  log(&m.child, m.stream == stream_kind::out ? "out" : "err", mark_of(m.kind), m.arrival,
      spdlog::level::info, m.bytes);
}

void spdlog_adapter::operator()(const child_event& e) {
  log(&e.child, "-", '*', log_clock::now(), level_of(e), describe(e));
}

void spdlog_adapter::operator()(const run_summary& s) {
  for (const auto& child : s.children)
    log(&child.child, "-", '*', log_clock::now(),
        child.failed() ? spdlog::level::warn : spdlog::level::info, describe(child));
}

void spdlog_adapter::note(spdlog::level::level_enum level, std::string_view text) {
  log(nullptr, "-", '*', log_clock::now(), level, text);
}

void spdlog_adapter::log(const child_info* child, const char* stream, char mark,
                         log_clock::time_point when, spdlog::level::level_enum level,
                         std::string_view text) {
  if (!logger_->should_log(level)) return;
  if (identity_ == identity_in::payload) {
    text_.clear();
    if (child != nullptr)
      fmt::format_to(std::back_inserter(text_), "{}.{}[{}] {} {} ", child->name, child->index,
                     child->pid, stream, mark);
    else
      fmt::format_to(std::back_inserter(text_), "pipemux[{}] {} {} ", ::getpid(), stream, mark);
    escape_into(text, text_);
    text = text_;
  } else if (needs_escape(text)) {
    text_.clear();
    escape_into(text, text_);
    text = text_;
  }
  current_context = log_context{child, stream, mark};
  logger_->log(when, spdlog::source_loc{}, level, spdlog::string_view_t(text.data(), text.size()));
  current_context = log_context{};
  schedule_flush();
}

void spdlog_adapter::schedule_flush() {
  if (!flush_executor_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  boost::asio::post(flush_executor_, [this] {
    flush_scheduled_ = false;
    logger_->flush();
  });
}

}  // namespace pipemux
