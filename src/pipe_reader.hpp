// Internal: reads the read end of one pipe asynchronously until EOF, into a reused buffer.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

#include "pipemux/message.hpp"
#include "unshared_memory.hpp"

namespace pipemux::detail {

// Owned through shared_ptr: a read still pending keeps the reader alive, so its owner may
// let go of it at any time (after close(true), so that no handler reaches the owner).
class pipe_reader : public std::enable_shared_from_this<pipe_reader> {
 public:
  /// Called once per completed read, with the time the read returned.
  using data_handler = std::function<void(log_clock::time_point, std::string_view)>;
  /// Called once at the end: no error at EOF, operation_aborted after close(), else the error.
  using end_handler = std::function<void(std::error_code)>;

  /// Takes ownership of `fd`.
  pipe_reader(const boost::asio::any_io_executor& executor, int fd, std::size_t read_size);

  void start(data_handler on_data, end_handler on_end);

  /// Stops reading and closes the pipe; bytes still in it are discarded. With
  /// `silently`, neither handler is called again.
  void close(bool silently = false) noexcept;

  bool is_open() const noexcept { return descriptor_.is_open(); }

  /// Flow control: no read is issued after the one in flight until resume(), so the writer
  /// blocks once the pipe is full. Call both on the reader's executor.
  void pause() noexcept { paused_ = true; }
  void resume();

  /// Bytes written to the pipe and not read yet (0 when closed).
  std::size_t bytes_unread() noexcept;

 private:
  void read_next();

  boost::asio::posix::stream_descriptor descriptor_;
  // Not zero-filled: pages a read never reaches are never touched, which keeps the resident
  // size of a thousand mostly idle children small. Not shared with forks either.
  unshared_buffer buffer_;
  std::size_t read_size_;
  data_handler on_data_;
  end_handler on_end_;
  bool silenced_ = false;
  bool paused_ = false;
  bool reading_ = false;  // a read is in flight
};

}  // namespace pipemux::detail
