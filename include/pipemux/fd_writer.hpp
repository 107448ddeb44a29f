// Writes to a file descriptor on a thread of its own, so that a stalled output (a full pipe, a
// terminal on hold, a reader that went to lunch) never blocks the caller's event loop: signals,
// timers and child exits keep being handled. The caller learns when the backlog crosses a
// high-water mark, and stops producing (supervisor::pause_reading) until it has drained.
// Its thread blocks every signal: a reader that goes away is EPIPE, never a SIGPIPE.
// /dev/null, which never makes anyone wait, is written by the caller: no thread at all.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

namespace pipemux {

class fd_writer {
 public:
  struct limits {
    std::size_t high_water = std::size_t{1} << 19;  ///< backlog above this: "over"
    std::size_t low_water = std::size_t{1} << 17;   ///< back to or below this: "not over"
  };
  /// Called when the backlog goes over high_water (true) and when it is back down to
  /// low_water (false), from the writing caller's thread or the writer's. The two threads
  /// race: a consumer that hands these calls on (posts them) can see them out of order, so
  /// take each as a cue to act on backlogged() where the consumer runs, not on `over`.
  using backlog_handler = std::function<void(bool over)>;
  /// Called once, on the writer's thread, with the first error: EPIPE when a pipe or socket
  /// lost its reader (noticed even while there is nothing to write), EIO for a terminal that
  /// hung up, ENOSPC... After it, what is written is dropped.
  using error_handler = std::function<void(std::error_code)>;

  /// Moves the output to a new file (log rotation, rotating_file.hpp). Called on the writer's
  /// thread only, between two writes, and given whole lines: a line never straddles files, and
  /// the renaming a rotation does never holds up the caller's loop.
  class rotation {
   public:
    virtual ~rotation() = default;
    /// How many leading bytes of `lines` go to the current file (a prefix of whole lines);
    /// 0: start a new file first.
    virtual std::size_t fits(std::string_view lines) = 0;
    /// Starts the new file and puts it at `fd` (the writer's descriptor number stays).
    virtual std::error_code rotate(int fd) = 0;
    /// `bytes` were written to the current file.
    virtual void written(std::size_t bytes) = 0;
  };

  /// Writes to `fd` (blocking or not: EAGAIN waits for the fd), closing it at the end when
  /// `owns_fd`; with `rotation`, a file that rotates. Set the handlers before the first write.
  fd_writer(int fd, bool owns_fd, limits limits, std::shared_ptr<rotation> rotator = nullptr);
  explicit fd_writer(int fd, bool owns_fd = false) : fd_writer(fd, owns_fd, limits{}) {}
  /// Abandons what is still queued (see abandon()).
  ~fd_writer();
  fd_writer(const fd_writer&) = delete;
  fd_writer& operator=(const fd_writer&) = delete;

  void on_backlog(backlog_handler handler);
  void on_error(error_handler handler);

  /// Queues bytes; never waits for the output. Dropped after an error or abandon().
  void write(const char* data, std::size_t size);

  /// Writes what is queued, then calls `done` (on the writer's thread); also after an error
  /// or abandon(), or when nothing is queued on /dev/null, at once.
  void close(std::function<void()> done);

  /// Stops writing: what is queued is dropped, and a close() still waiting is done. Returns
  /// how many bytes were dropped. A write(2) already blocked on a blocking fd is not
  /// interrupted: the thread ends when it returns, so an fd the writer does not own must stay
  /// open until then (the process's stdout, say).
  std::size_t abandon();
  /// Bytes dropped by abandon(): those it found queued, and every byte written after it.
  std::size_t dropped() const;

  std::error_code error() const;

  /// Whether the backlog is over high_water now (and has not yet drained to low_water).
  /// False once the writer has failed or was abandoned: nothing is queued any more.
  bool backlogged() const;

 private:
  struct state;
  static void run(const std::shared_ptr<state>& s);
  std::shared_ptr<state> state_;  // shared with the writer's thread, which may outlive us
};

}  // namespace pipemux
