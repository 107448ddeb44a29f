// A spdlog sink that writes to a file descriptor through a buffer of its own: one write(2) per
// flush (or per full buffer) instead of spdlog's one fwrite + fflush per line. Given an
// fd_writer, it hands each buffer to the writer's thread instead, and never waits for the fd.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include "pipemux/fd_writer.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>

#include "pipemux/message.hpp"

namespace pipemux {

namespace detail {
/// For spdlog_adapter: the lines of one read of one child's pipe, escaped, with their marks.
/// One child, one stream, one arrival time.
struct batch_line {
  char mark;
  std::string_view text;
};
struct line_batch {
  log_clock::time_point when;
  const child_info* child;
  const char* stream;
  std::span<const batch_line> lines;
};
}  // namespace detail

template <class Mutex>
class basic_fd_sink final : public spdlog::sinks::base_sink<Mutex> {
 public:
  /// Writes to `fd`; closes it on destruction when `owns_fd`.
  explicit basic_fd_sink(int fd, bool owns_fd = false, std::size_t buffer_size = 1 << 16);
  /// Writes through `writer` (its errors go to the writer's handler, not on_write_error).
  explicit basic_fd_sink(std::shared_ptr<fd_writer> writer, std::size_t buffer_size = 1 << 16);
  ~basic_fd_sink() override;

  /// Called once, with the first write error (EPIPE, ENOSPC, ...). After it, output is
  /// dropped: the owner decides whether to stop.
  void on_write_error(std::function<void(std::error_code)> handler);
  std::error_code write_error();

  /// For spdlog_adapter: logs the lines of one read at once when this sink's formatter is the
  /// default pattern's, formatting their common prefix once: the same bytes as logging them
  /// one by one. False, with nothing written, for any other formatter.
  bool log_batch(const detail::line_batch& batch);
  /// Whether log_batch() would take a batch now (the formatter is the default pattern's).
  bool can_log_batch();

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  void write_out();

  int fd_ = -1;
  bool owns_fd_ = false;
  std::shared_ptr<fd_writer> writer_;
  std::size_t buffer_size_;
  spdlog::memory_buf_t buffer_;  // lines are formatted straight into it
  std::error_code error_;
  std::function<void(std::error_code)> on_error_;
};

using fd_sink_mt = basic_fd_sink<std::mutex>;
using fd_sink_st = basic_fd_sink<spdlog::details::null_mutex>;

}  // namespace pipemux
