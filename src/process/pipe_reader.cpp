#include "process/pipe_reader.hpp"

#include <boost/asio/defer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <poll.h>

namespace pipemux::detail {

namespace asio = boost::asio;

pipe_reader::pipe_reader(const asio::any_io_executor& executor, int fd, std::size_t read_size)
    : descriptor_(executor, fd), buffer_(read_size), read_size_(read_size) {
  boost::system::error_code ignored;  // fails only for a bad fd, which the first read reports
  descriptor_.non_blocking(true, ignored);
}

void pipe_reader::start(data_handler on_data, end_handler on_end,
                        std::shared_ptr<const turn_wrapper> wrap_turn) {
  on_data_ = std::move(on_data);
  on_end_ = std::move(on_end);
  wrap_turn_ = std::move(wrap_turn);
  if (!paused_) resume();
}

void pipe_reader::resume() {
  paused_ = false;
  if (pending_ || !descriptor_.is_open()) return;
  pending_ = true;  // posted, not read here: the caller is not ready for on_data yet
  asio::post(descriptor_.get_executor(), [self = shared_from_this()] { self->read_once(); });
}

void pipe_reader::wait_readable() {
  pending_ = true;
  descriptor_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (ec && self->descriptor_.is_open()) {
                             self->pending_ = false;
                             self->close();
                             self->on_end_(ec);
                             return;
                           }
                           self->read_once();
                         });
}

void pipe_reader::read_once() {
  pending_ = false;
  if (!wrap_turn_) return read_turn();
  (*wrap_turn_)([this] { read_turn(); });  // `this` lives: the caller holds shared_from_this()
}

void pipe_reader::read_turn() {
  // A few reads per turn while each fills the buffer (with small read sizes a round through
  // the scheduler per read cost more than the read: 32-byte reads went 2.5x faster), but no
  // more than one 64 KiB read's worth: then the turn goes to the other pipes.
  std::size_t turn_bytes = 0;
  for (int reads = 0; reads < reads_per_turn && turn_bytes < bytes_per_turn; ++reads) {
    if (!descriptor_.is_open() || paused_) return;  // closed, or resume() reads later
    boost::system::error_code ec;
    const std::size_t n = descriptor_.read_some(asio::buffer(buffer_.get(), read_size_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return wait_readable();
    if (n == 0) {
      close();
      on_end_(ec == asio::error::eof ? std::error_code() : std::error_code(ec));
      return;
    }
    on_data_(log_clock::now(), std::string_view(buffer_.get(), n));
    turn_bytes += n;
    if (n < read_size_) {
      // The pipe is likely empty: wait for it (the wait completes at once if the writer was
      // quicker) instead of reading it again just to hear EAGAIN.
      if (!descriptor_.is_open() || paused_) return;
      return wait_readable();
    }
  }
  if (!descriptor_.is_open() || paused_) return;
  // Queued behind what else is ready, so one chatty pipe does not starve the others.
  pending_ = true;
  asio::defer(descriptor_.get_executor(), [self = shared_from_this()] { self->read_once(); });
}

bool pipe_reader::has_input() noexcept {
  if (!descriptor_.is_open()) return false;
  pollfd readable{.fd = descriptor_.native_handle(), .events = POLLIN, .revents = 0};
  return ::poll(&readable, 1, 0) > 0 && (readable.revents & (POLLIN | POLLHUP)) != 0;
}

void pipe_reader::close() noexcept {
  boost::system::error_code ignored;
  descriptor_.close(ignored);
}

}  // namespace pipemux::detail
