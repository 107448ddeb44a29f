#include "pipemux/fd_sink.hpp"

#include "log/batch_format.hpp"

#include <unistd.h>
#include <cerrno>

namespace pipemux {

template <class Mutex>
basic_fd_sink<Mutex>::basic_fd_sink(int fd, bool owns_fd, std::size_t buffer_size)
    : fd_(fd), owns_fd_(owns_fd), buffer_size_(buffer_size) {
  buffer_.reserve(buffer_size_);
}

template <class Mutex>
basic_fd_sink<Mutex>::basic_fd_sink(std::shared_ptr<fd_writer> writer, std::size_t buffer_size)
    : writer_(std::move(writer)), buffer_size_(buffer_size) {
  buffer_.reserve(buffer_size_);
}

template <class Mutex>
basic_fd_sink<Mutex>::~basic_fd_sink() {
  write_out();
  if (owns_fd_) ::close(fd_);  // (a writer closes its own fd)
}

template <class Mutex>
void basic_fd_sink<Mutex>::on_write_error(std::function<void(std::error_code)> handler) {
  std::lock_guard<Mutex> lock(this->mutex_);
  on_error_ = std::move(handler);
}

template <class Mutex>
std::error_code basic_fd_sink<Mutex>::write_error() {
  std::lock_guard<Mutex> lock(this->mutex_);
  return writer_ ? writer_->error() : error_;
}

template <class Mutex>
void basic_fd_sink<Mutex>::sink_it_(const spdlog::details::log_msg& msg) {
  if (error_) return;
  this->formatter_->format(msg, buffer_);
  if (buffer_.size() >= buffer_size_) write_out();
}

template <class Mutex>
bool basic_fd_sink<Mutex>::log_batch(const detail::line_batch& batch) {
  std::lock_guard<Mutex> lock(this->mutex_);
  if (error_)
    return detail::format_batch_supported(*this->formatter_);  // dropped, as sink_it_ does
  std::size_t next = 0;
  while (next < batch.lines.size()) {
    // In pieces of about one buffer: a read of short lines formats to ten times its size.
    const auto formatted =
        detail::format_batch(*this->formatter_, batch, next, buffer_, buffer_size_);
    if (!formatted) return false;
    next = *formatted;
    if (buffer_.size() >= buffer_size_) write_out();
  }
  return true;
}

template <class Mutex>
bool basic_fd_sink<Mutex>::can_log_batch() {
  std::lock_guard<Mutex> lock(this->mutex_);
  return detail::format_batch_supported(*this->formatter_);
}

template <class Mutex>
void basic_fd_sink<Mutex>::flush_() {
  write_out();
}

template <class Mutex>
void basic_fd_sink<Mutex>::write_out() {
  if (writer_) {
    writer_->write(buffer_.data(), buffer_.size());
    buffer_.clear();
    return;
  }
  const char* data = buffer_.data();
  std::size_t left = buffer_.size();
  while (left > 0 && !error_) {
    const ssize_t n = ::write(fd_, data, left);
    if (n >= 0) {
      data += n;
      left -= static_cast<std::size_t>(n);
    } else if (errno != EINTR) {
      error_ = std::error_code(errno, std::system_category());
      if (auto handler = std::move(on_error_)) handler(error_);
    }
  }
  buffer_.clear();
}

template class basic_fd_sink<std::mutex>;
template class basic_fd_sink<spdlog::details::null_mutex>;

}  // namespace pipemux
