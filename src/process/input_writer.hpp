// Internal: what the owner writes to a child's stdin (program_spec::input), on the strand: a
// queue of writes, each completed when the child has it in its pipe (or terminal), so that the
// owner can wait before sending more (backpressure); closed to give the child its EOF.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace pipemux::detail {

class input_writer : public std::enable_shared_from_this<input_writer> {
 public:
  using written_handler = std::function<void(std::error_code)>;

  /// Takes ownership of `fd`, the write end of the child's stdin (made non-blocking); with
  /// `terminal`, the master side of its terminal.
  input_writer(const boost::asio::any_io_executor& executor, int fd, bool terminal = false);

  /// Queues `bytes`; `written` is called once they are all written, or with the error that
  /// ended the writing (broken_pipe: the child closed its stdin or is gone).
  void write(std::string bytes, written_handler written);
  /// Closes it once what is queued is written: the child reads EOF. A terminal has no end
  /// but its hangup: it is sent its EOF character (^D; a second one after a line not ended,
  /// which the first only hands over).
  void close_when_written();
  /// Closes it now; what is queued fails with operation_canceled.
  void close_now();

 private:
  void write_next();
  void fail_all(std::error_code ec);

  boost::asio::posix::stream_descriptor descriptor_;
  struct pending {
    std::string bytes;
    written_handler written;
  };
  std::deque<pending> queue_;
  pending in_flight_;
  bool writing_ = false;
  bool close_after_ = false;
  bool terminal_ = false;
  bool at_line_start_ = true;  // the last byte queued was '\n' (or none was)
};

}  // namespace pipemux::detail
