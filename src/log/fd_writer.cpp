#include "pipemux/fd_writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

#include "process/signal_mask.hpp"

namespace pipemux {
namespace {

using byte_queue = std::vector<char>;

}  // namespace

struct fd_writer::state {
  int fd;
  bool owns_fd;
  bool terminal = false;  // known at the start: a terminal that hung up is no longer one
  bool discards = false;  // /dev/null: written by the caller, with no thread at all
  limits bounds;
  std::shared_ptr<fd_writer::rotation> rotator;  // a rotating file: used by the writer thread
  int wake_fd = -1;  // eventfd: new data, close or abandon while the writer waits in poll

  std::mutex mutex;
  byte_queue queued;          // not handed to the writer yet
  std::size_t in_flight = 0;  // being written now
  bool over = false;
  bool idle = false;  // the writer waits in poll for data: wake it
  bool closing = false;
  bool abandoned = false;
  std::size_t dropped = 0;  // since abandoned
  bool finished = false;
  std::error_code error;
  backlog_handler on_backlog;
  error_handler on_error;
  std::function<void()> on_done;
  // Bytes at the end of the output after the last '\n' written: a torn line, if an error
  // (ENOSPC) ends the output here.
  std::size_t unterminated = 0;

  ~state() {
    if (wake_fd >= 0) ::close(wake_fd);
    if (owns_fd) ::close(fd);
  }

  void wake() const {
    if (wake_fd < 0) return;  // no thread to wake (discards)
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
  }
  void drain_wake() const {
    std::uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(wake_fd, &count, sizeof count);
  }
  bool stopping() {
    std::lock_guard lock(mutex);
    return abandoned;
  }

  // Waits for the fd to take data (or to fail); false when abandoned meanwhile.
  bool wait_writable() {
    pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_fd, POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    if (fds[1].revents != 0) drain_wake();
    return !stopping();
  }

  // While there is nothing to write, watches the fd for its reader going away (POLLERR on a
  // pipe whose reader closed, POLLHUP on a terminal that hung up), so that `pipemux | head -1`
  // ends when head does, not at the next line a quiet child writes.
  std::error_code wait_for_work() {
    pollfd fds[2] = {{fd, 0, 0}, {wake_fd, POLLIN, 0}};
    while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
    if (fds[1].revents != 0) drain_wake();
    if ((fds[0].revents & (POLLERR | POLLHUP)) != 0)
      return std::error_code(terminal ? EIO : EPIPE, std::system_category());
    if ((fds[0].revents & POLLNVAL) != 0) return std::error_code(EBADF, std::system_category());
    return {};
  }

  // Writes whole lines: to the current file as long as it takes them, then to a new one.
  std::error_code write_all(const char* data, std::size_t size) {
    while (size > 0) {
      std::size_t part = size;
      if (rotator) {
        part = rotator->fits({data, size});
        if (part == 0) {
          if (const std::error_code ec = rotator->rotate(fd)) return ec;
          unterminated = 0;
          part = std::max<std::size_t>(rotator->fits({data, size}), 1);
        }
      }
      if (const std::error_code ec = write_part(data, part)) return ec;
      if (rotator) rotator->written(part);
      data += part;
      size -= part;
    }
    return {};
  }

  std::error_code write_part(const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t n = ::write(fd, data, size);
      if (n >= 0) {
        const auto written = static_cast<std::size_t>(n);
        std::size_t last_newline = written;
        while (last_newline > 0 && data[last_newline - 1] != '\n') --last_newline;
        unterminated = last_newline > 0 ? written - last_newline : unterminated + written;
        data += written;
        size -= written;
      } else if (errno == EAGAIN) {  // an O_NONBLOCK output: wait for it, it is not an error
        if (!wait_writable()) return {};
      } else if (errno != EINTR) {
        const std::error_code ec(errno, std::system_category());
        remove_torn_line();
        return ec;
      }
    }
    return {};
  }

  // The output failed mid-line (disk full): a file is cut back to its last whole line, so
  // that whoever reads it never sees half a line.
  void remove_torn_line() const {
    struct stat st {};
    if (unterminated == 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    if (st.st_size >= static_cast<off_t>(unterminated)) [[maybe_unused]]
      const int r = ::ftruncate(fd, st.st_size - static_cast<off_t>(unterminated));
  }
};

fd_writer::fd_writer(int fd, bool owns_fd, limits bounds, std::shared_ptr<rotation> rotator)
    : state_(std::make_shared<state>()) {
  state_->fd = fd;
  state_->owns_fd = owns_fd;
  state_->bounds = bounds;
  state_->rotator = std::move(rotator);
  state_->terminal = ::isatty(fd) == 1;
  // /dev/null never makes anyone wait, so handing it bytes through a thread would only cost:
  // on 2 cores, about a tenth of the CLI's throughput.
  struct stat st {};
  state_->discards = ::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(1, 3);
  if (state_->discards) return;
  state_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (state_->wake_fd < 0) throw std::system_error(errno, std::system_category(), "eventfd");
  // The writer never takes a signal: the caller's handlers run on the caller's threads.
  const detail::all_signals_blocked blocked;
  std::thread([s = state_] { run(s); }).detach();
}

fd_writer::~fd_writer() {
  abandon();
}

void fd_writer::on_backlog(backlog_handler handler) {
  std::lock_guard lock(state_->mutex);
  state_->on_backlog = std::move(handler);
}

void fd_writer::on_error(error_handler handler) {
  std::lock_guard lock(state_->mutex);
  state_->on_error = std::move(handler);
}

void fd_writer::write(const char* data, std::size_t size) {
  if (size == 0) return;
  if (state_->discards) {
    std::lock_guard lock(state_->mutex);
    if (!state_->abandoned && !state_->finished) state_->write_all(data, size);
    return;
  }
  backlog_handler went_over;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->abandoned) state_->dropped += size;
    if (state_->error || state_->abandoned || state_->finished) return;
    state_->queued.insert(state_->queued.end(), data, data + size);
    if (!state_->over && state_->queued.size() + state_->in_flight > state_->bounds.high_water) {
      state_->over = true;
      went_over = state_->on_backlog;
    }
    if (state_->idle) {
      state_->idle = false;
      state_->wake();
    }
  }
  if (went_over) went_over(true);
}

void fd_writer::close(std::function<void()> done) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->discards) state_->finished = true;  // all was written already
    if (!state_->finished && !state_->abandoned) {
      state_->on_done = std::move(done);
      state_->closing = true;
      state_->wake();
      return;
    }
  }
  if (done) done();  // nothing more will be written: done now
}

std::size_t fd_writer::abandon() {
  std::function<void()> done;  // a close() waiting for the writer waits no more
  std::size_t dropped = 0;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->finished || state_->abandoned) return 0;
    state_->abandoned = true;
    dropped = state_->queued.size() + state_->in_flight;
    state_->dropped = dropped;
    state_->queued.clear();
    done = std::move(state_->on_done);
    state_->wake();
  }
  // The writer's thread may stay blocked in write(2) on a blocking fd that nobody reads: it is
  // left to end with the process.
  if (done) done();
  return dropped;
}

std::size_t fd_writer::dropped() const {
  std::lock_guard lock(state_->mutex);
  return state_->dropped;
}

std::error_code fd_writer::error() const {
  std::lock_guard lock(state_->mutex);
  return state_->error;
}

bool fd_writer::backlogged() const {
  std::lock_guard lock(state_->mutex);
  return state_->over && !state_->abandoned && !state_->error && !state_->finished;
}

void fd_writer::run(const std::shared_ptr<state>& s) {
  byte_queue writing;
  std::unique_lock lock(s->mutex);
  while (!s->abandoned && !s->error) {
    if (s->queued.empty()) {
      if (s->closing) break;
      s->idle = true;
      lock.unlock();
      const std::error_code gone = s->wait_for_work();
      lock.lock();
      s->idle = false;
      if (gone && !s->abandoned) s->error = gone;
      continue;
    }
    writing.swap(s->queued);
    s->in_flight = writing.size();
    lock.unlock();
    const std::error_code ec = s->write_all(writing.data(), writing.size());
    lock.lock();
    s->in_flight = 0;
    writing.clear();
    if (ec && !s->abandoned) s->error = ec;
    if (s->over && !s->error && !s->abandoned && s->queued.size() <= s->bounds.low_water) {
      s->over = false;
      if (auto handler = s->on_backlog) {
        lock.unlock();
        handler(false);
        lock.lock();
      }
    }
  }
  s->finished = true;
  s->queued.clear();
  auto on_error = s->error && !s->abandoned ? std::move(s->on_error) : error_handler{};
  const std::error_code error = s->error;
  auto done = std::move(s->on_done);
  lock.unlock();
  if (on_error) on_error(error);
  if (done) done();
}

}  // namespace pipemux
