#include "pipe_reader.hpp"

#include <boost/asio/error.hpp>

#include <sys/ioctl.h>

namespace pipemux::detail {

pipe_reader::pipe_reader(const boost::asio::any_io_executor& executor, int fd,
                         std::size_t read_size)
    : descriptor_(executor, fd), buffer_(read_size), read_size_(read_size) {}

void pipe_reader::start(data_handler on_data, end_handler on_end) {
  on_data_ = std::move(on_data);
  on_end_ = std::move(on_end);
  read_next();
}

void pipe_reader::resume() {
  paused_ = false;
  if (!reading_ && descriptor_.is_open()) read_next();
}

void pipe_reader::read_next() {
  if (paused_) return;
  reading_ = true;
  descriptor_.async_read_some(
      boost::asio::buffer(buffer_.get(), read_size_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        self->reading_ = false;
        if (n > 0 && !self->silenced_)
          self->on_data_(log_clock::now(), std::string_view(self->buffer_.get(), n));
        if (!ec && self->descriptor_.is_open()) {
          self->read_next();
          return;
        }
        const bool silenced = self->silenced_;
        self->close(true);
        if (silenced) return;
        if (ec == boost::asio::error::eof)
          self->on_end_({});
        else
          self->on_end_(ec ? std::error_code(ec)
                           : std::make_error_code(std::errc::operation_canceled));
      });
}

std::size_t pipe_reader::bytes_unread() noexcept {
  int unread = 0;
  if (!descriptor_.is_open() || ::ioctl(descriptor_.native_handle(), FIONREAD, &unread) != 0)
    return 0;
  return static_cast<std::size_t>(unread);
}

void pipe_reader::close(bool silently) noexcept {
  if (silently) silenced_ = true;
  boost::system::error_code ignored;
  descriptor_.close(ignored);
}

}  // namespace pipemux::detail
