#include "process/input_writer.hpp"

#include <boost/asio/write.hpp>

namespace pipemux::detail {

input_writer::input_writer(const boost::asio::any_io_executor& executor, int fd, bool terminal)
    : descriptor_(executor, fd), terminal_(terminal) {
  descriptor_.non_blocking(true);
}

void input_writer::write(std::string bytes, written_handler written) {
  if (!descriptor_.is_open() || close_after_) {
    if (written) written(std::make_error_code(std::errc::broken_pipe));
    return;
  }
  if (!bytes.empty()) at_line_start_ = bytes.back() == '\n';
  queue_.push_back({std::move(bytes), std::move(written)});
  if (!writing_) write_next();
}

void input_writer::close_when_written() {
  if (close_after_) return;
  if (terminal_ && descriptor_.is_open()) write(at_line_start_ ? "\x04" : "\x04\x04", nullptr);
  close_after_ = true;
  if (!writing_ && queue_.empty()) close_now();  // else once the last write is done
}

void input_writer::close_now() {
  boost::system::error_code ignored;
  descriptor_.close(ignored);
  fail_all(std::make_error_code(std::errc::operation_canceled));
}

// The write in flight is kept apart from the queue: closing fails what waits, while the write
// itself completes (operation_canceled) with its bytes still alive.
void input_writer::write_next() {
  if (queue_.empty() || !descriptor_.is_open()) {
    writing_ = false;
    if (close_after_ && descriptor_.is_open()) close_now();
    return;
  }
  writing_ = true;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  boost::asio::async_write(descriptor_, boost::asio::buffer(in_flight_.bytes),
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             auto done = std::move(self->in_flight_.written);
                             self->in_flight_ = {};
                             self->writing_ = false;
                             if (ec) {
                               boost::system::error_code ignored;
                               self->descriptor_.close(ignored);
                               self->fail_all(std::make_error_code(std::errc::broken_pipe));
                               if (done)
                                 done(ec == boost::asio::error::operation_aborted
                                          ? std::make_error_code(std::errc::operation_canceled)
                                          : std::error_code(ec.value(), std::system_category()));
                               return;
                             }
                             if (done) done({});
                             if (!self->writing_)
                               self->write_next();  // `done` may have started one already
                           });
}

void input_writer::fail_all(std::error_code ec) {
  auto failed = std::move(queue_);
  queue_.clear();
  for (auto& p : failed)
    if (p.written) p.written(ec);
}

}  // namespace pipemux::detail
