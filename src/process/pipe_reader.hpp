// Internal: reads the read end of one pipe asynchronously until EOF, into a reused buffer.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

#include "pipemux/message.hpp"
#include "process/unshared_memory.hpp"

namespace pipemux::detail {

// Bytes leave the pipe only inside the handler that hands them to on_data: the reader waits
// for the pipe to be readable and then reads it itself, instead of async_read_some, whose
// reactor reads speculatively and queues the result. Until on_data has them, bytes are still
// in the pipe, where has_input() sees them: nothing is in between for a close to drop.
//
// Owned through shared_ptr: a wait still pending keeps the reader alive, so its owner may let
// go of it at any time (after close(), so that no handler reaches the owner).
class pipe_reader : public std::enable_shared_from_this<pipe_reader> {
 public:
  /// Called once per read, with the time the read returned.
  using data_handler = std::function<void(log_clock::time_point, std::string_view)>;
  /// Called once at the end, unless close() came first: no error at EOF, else the error.
  using end_handler = std::function<void(std::error_code)>;
  /// Optional: runs each turn of reads (up to reads_per_turn on_data calls, and the on_end of an
  /// EOF met in it) by calling `turn`, or drops it by not calling it. An owner that guards its
  /// handlers with a lock takes it once per turn here rather than once per read. Shared: one
  /// for all the owner's readers.
  using turn_wrapper = std::function<void(const std::function<void()>& turn)>;

  /// Takes ownership of `fd` (and makes it non-blocking).
  pipe_reader(const boost::asio::any_io_executor& executor, int fd, std::size_t read_size);

  void start(data_handler on_data, end_handler on_end,
             std::shared_ptr<const turn_wrapper> wrap_turn = nullptr);

  /// Stops reading and closes the pipe; neither handler is called again.
  void close() noexcept;

  bool is_open() const noexcept { return descriptor_.is_open(); }
  /// Its descriptor (a terminal's master side, for its window size), -1 once closed.
  int descriptor() noexcept { return descriptor_.is_open() ? descriptor_.native_handle() : -1; }

  /// Flow control: nothing is read until resume(), so the writer blocks once the pipe is
  /// full. Call both on the reader's executor.
  void pause() noexcept { paused_ = true; }
  void resume();

  /// The pipe holds bytes not read yet, or its end not seen yet (every writer has closed it).
  /// False when closed.
  bool has_input() noexcept;

 private:
  void wait_readable();
  void read_once();  // on the executor, when the pipe may be readable
  void read_turn();  // read_once's reads, inside wrap_turn_ when there is one

  boost::asio::posix::stream_descriptor descriptor_;
  // Not zero-filled: pages a read never reaches are never touched, which keeps the resident
  // size of a thousand mostly idle children small. Not shared with forks either.
  unshared_buffer buffer_;
  std::size_t read_size_;
  static constexpr int reads_per_turn = 8;
  static constexpr std::size_t bytes_per_turn = std::size_t{64} * 1024;
  data_handler on_data_;
  end_handler on_end_;
  std::shared_ptr<const turn_wrapper> wrap_turn_;
  bool paused_ = false;
  bool pending_ = false;  // a wait or a read is queued: resume() must not queue another
};

}  // namespace pipemux::detail
