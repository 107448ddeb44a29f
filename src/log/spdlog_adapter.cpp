#include "pipemux/spdlog_adapter.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <unistd.h>
#include <cstdint>

#include "log/log_context.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/name_escape.hpp"
#include "text/plain_text.hpp"

namespace pipemux {
namespace {

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
    case child_event_kind::continued:
    case child_event_kind::waiting:
    case child_event_kind::ready:
    case child_event_kind::requested:
      return spdlog::level::info;
    case child_event_kind::spawn_failed:
    case child_event_kind::dependency_failed:
      return spdlog::level::err;
    case child_event_kind::exited:
      return e.status && e.status->success() ? spdlog::level::info : spdlog::level::warn;
    default:
      return spdlog::level::warn;
  }
}

// How many messages at the end of `batch` lie one after the other in one buffer, apart only by
// their delimiters (a '\n', or nothing between the pieces of a long line), and are proved
// plain ASCII in one pass over those bytes: the lines of one read, instead of one needs_escape
// call each. A line joined across reads lives elsewhere: it ends the run and is checked alone.
// The run's newlines must be exactly its delimiters: a raw chunk holds newlines to escape.
std::size_t plain_adjacent_tail(std::span<const message> batch) {
  const auto address = [](const char* p) { return reinterpret_cast<std::uintptr_t>(p); };
  const std::string_view last = batch.back().bytes;
  const char* begin = last.data();
  std::size_t count = 1, delimiters = 0;
  for (std::size_t i = batch.size() - 1; i-- > 0; ++count) {
    const std::string_view bytes = batch[i].bytes;
    const std::uintptr_t after = address(bytes.data()) + bytes.size();
    if (after + 1 == address(begin) && begin[-1] == '\n')
      ++delimiters;
    else if (after != address(begin))
      break;
    begin = bytes.data();
  }
  const std::string_view run(begin, address(last.data()) + last.size() - address(begin));
  return detail::plain_ascii_newlines(run) == std::optional<std::size_t>(delimiters) ? count : 0;
}

}  // namespace

spdlog_adapter::spdlog_adapter(std::shared_ptr<spdlog::logger> logger,
                               boost::asio::any_io_executor flush_executor, identity_in identity,
                               ansi_mode ansi)
    : logger_(std::move(logger)),
      flush_executor_(std::move(flush_executor)),
      identity_(identity),
      ansi_(ansi) {}

void spdlog_adapter::operator()(const message& m) {
  log(m.child.get(), m.stream == stream_kind::out ? "out" : "err", mark_of(m.kind), m.arrival,
      spdlog::level::info, m.bytes);
}

void spdlog_adapter::operator()(std::span<const message> read) {
  if (read.empty() || log_at_once(read)) return;
  for (const message& m : read) (*this)(m);
}

void spdlog_adapter::operator()(const message_batch& batch) {
  if (!batch.empty()) (*this)(std::span<const message>(&batch[0], batch.size()));
}

bool spdlog_adapter::log_at_once(std::span<const message> batch) {
  constexpr auto level = spdlog::level::info;
  if (identity_ != identity_in::flags || !logger_->should_log(level) ||
      logger_->should_backtrace() || logger_->flush_level() <= level ||
      logger_->sinks().size() != 1 || !logger_->sinks().front()->should_log(level))
    return false;
  spdlog::sinks::sink* sink = logger_->sinks().front().get();
  auto* sink_st = dynamic_cast<fd_sink_st*>(sink);
  auto* sink_mt = sink_st ? nullptr : dynamic_cast<fd_sink_mt*>(sink);
  // Asked first: another pattern would log each message again after the escaping below.
  if (sink_st ? !sink_st->can_log_batch() : sink_mt == nullptr || !sink_mt->can_log_batch())
    return false;

  // Escaped texts go to text_ first (it may move as it grows), then their lines point into it.
  text_.clear();
  escaped_.clear();
  batch_lines_.clear();
  // Raw bytes for a formatter that escapes for itself; else escaped here, but for the lines
  // proved plain together.
  const std::size_t checked_from = raw_bytes_ ? 0 : batch.size() - plain_adjacent_tail(batch);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const message& m = batch[i];
    if (i < checked_from && needs_escape(m.bytes)) {
      escape_into(shown(m.bytes), text_, ansi_);
      escaped_.push_back({batch_lines_.size(), text_.size()});
    }
    batch_lines_.push_back({mark_of(m.kind), m.bytes});
  }
  std::size_t start = 0;
  for (const auto& [line, end] : escaped_) {
    batch_lines_[line].text = std::string_view(text_).substr(start, end - start);
    start = end;
  }
  const message& first = batch[0];
  const detail::line_batch lines{first.arrival, first.child.get(),
                                 first.stream == stream_kind::out ? "out" : "err", batch_lines_};
  if (!(sink_st ? sink_st->log_batch(lines) : sink_mt->log_batch(lines))) return false;
  schedule_flush();
  return true;
}

void spdlog_adapter::operator()(const child_event& e, log_clock::time_point when) {
  detail::current_log_context().event = &e;  // for formatters that give its fields apart
  log(e.child.get(), "-", '*', when, level_of(e), describe(e));
}

void spdlog_adapter::operator()(const run_summary& s, log_clock::time_point when) {
  for (const auto& child : s.children) {
    detail::current_log_context().summary = &child;
    log(&child.child, "-", '*', when, child.failed() ? spdlog::level::warn : spdlog::level::info,
        describe(child));
  }
}

void spdlog_adapter::note(spdlog::level::level_enum level, std::string_view text,
                          log_clock::time_point when) {
  log(nullptr, "-", '*', when, level, text);
}

void spdlog_adapter::log(const child_info* child, const char* stream, char mark,
                         log_clock::time_point when, spdlog::level::level_enum level,
                         std::string_view text) {
  detail::log_context& context = detail::current_log_context();
  if (!logger_->should_log(level)) {
    context = detail::log_context{};
    return;
  }
  // With raw_bytes_, the formatter escapes for itself (JSON).
  if (!raw_bytes_ && identity_ == identity_in::payload) {
    text_.clear();
    if (child != nullptr) {
      escape_name_into(child->name, text_);  // a name must not forge lines either
      fmt::format_to(std::back_inserter(text_), ".{}[{}] {} {} ", child->instance, child->pid,
                     stream, mark);
    } else
      fmt::format_to(std::back_inserter(text_), "pipemux[{}] {} {} ", ::getpid(), stream, mark);
    escape_into(mark == '*' ? text : shown(text), text_, mark == '*' ? ansi_mode::escape : ansi_);
    text = text_;
  } else if (!raw_bytes_ && needs_escape(text)) {
    text_.clear();
    escape_into(mark == '*' ? text : shown(text), text_, mark == '*' ? ansi_mode::escape : ansi_);
    text = text_;
  }
  context.child = child;
  context.stream = stream;
  context.mark = mark;
  logger_->log(when, spdlog::source_loc{}, level, spdlog::string_view_t(text.data(), text.size()));
  context = detail::log_context{};
  schedule_flush();
}

std::string_view spdlog_adapter::shown(std::string_view text) {
  if (!as_terminal_ || ansi_ != ansi_mode::keep) return text;
  // "50%\r60%\r70%" is "70%" on a terminal; "done\r" (a CRLF line) is "done".
  std::string_view body = text;
  while (body.ends_with('\r')) body.remove_suffix(1);
  const auto last = body.rfind('\r');
  if (last == std::string_view::npos) return body;
  // Colours set before the last '\r' still hold after it, as on the terminal: kept in front.
  shown_.clear();
  for (std::size_t at = body.find("\x1b["); at < last; at = body.find("\x1b[", at + 1)) {
    const auto end = body.find_first_not_of("0123456789;:", at + 2);
    if (end != std::string_view::npos && end < last && body[end] == 'm')
      shown_.append(body.substr(at, end + 1 - at));
  }
  if (shown_.empty()) return body.substr(last + 1);
  shown_.append(body.substr(last + 1));
  return shown_;
}

void spdlog_adapter::schedule_flush() {
  if (!flush_executor_) return;
  if (flush_scheduled_) {
    ++logged_since_post_;
    return;
  }
  flush_scheduled_ = true;
  logged_since_post_ = 0;
  first_unflushed_ = std::chrono::steady_clock::now();
  boost::asio::post(flush_executor_, [this] { flush_when_idle(); });
}

// While other handlers keep logging, the loop is busy: yield again, so that one write carries
// many lines (raw reads of 32 bytes would otherwise cost a write each); but never hold output
// back for longer than max_flush_delay.
void spdlog_adapter::flush_when_idle() {
  if (logged_since_post_ > 0 &&
      std::chrono::steady_clock::now() - first_unflushed_ < max_flush_delay) {
    logged_since_post_ = 0;
    boost::asio::post(flush_executor_, [this] { flush_when_idle(); });
    return;
  }
  flush_scheduled_ = false;
  logger_->flush();
}

}  // namespace pipemux
