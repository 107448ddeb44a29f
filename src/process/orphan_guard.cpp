#include "process/orphan_guard.hpp"

#include "process/run_cgroup.hpp"
#include "process/signal_mask.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <memory>

namespace pipemux::detail {
namespace {

// The guard's whole life, in the forked child: only async-signal-safe calls, no allocation
// (`groups` was allocated before the fork), so it is safe even when the parent has threads.
// The socket becomes fd 3, the cgroup's directory and its parent's fds 4 and 5.
[[noreturn]] void guard_main(int read_fd, int* groups, std::size_t capacity,
                             const run_cgroup* cgroup) {
  ::setpgid(0, 0);  // out of the terminal's foreground group; every signal stays blocked
  ::prctl(PR_SET_NAME, "pipemux-guard");
  // Copies above the final numbers first, so that no dup2 below overwrites a source.
  const int socket_copy = ::fcntl(read_fd, F_DUPFD, 10);
  const int dir_copy = cgroup != nullptr ? ::fcntl(cgroup->directory_fd(), F_DUPFD, 10) : -1;
  const int parent_copy = cgroup != nullptr ? ::fcntl(cgroup->parent_fd(), F_DUPFD, 10) : -1;
  const int null_fd = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);  // hold none of the parent's stdio
  ::dup2(socket_copy, 3);
  const bool has_cgroup = dir_copy >= 0 && parent_copy >= 0;
  if (has_cgroup) {
    ::dup2(dir_copy, 4);
    ::dup2(parent_copy, 5);
  }
  ::close_range(has_cgroup ? 6 : 4, ~0U, 0);

  std::size_t count = 0;
  int record[256];
  std::size_t have = 0;  // bytes of a partial record carried over
  auto* bytes = reinterpret_cast<char*>(record);
  while (true) {
    const ssize_t n = ::read(3, bytes + have, sizeof record - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
    const std::size_t whole = have / sizeof(int);
    for (std::size_t i = 0; i < whole; ++i) {
      const int r = record[i];
      if (r > 0 && count < capacity) {
        groups[count++] = r;
      } else if (r < 0) {
        for (std::size_t j = 0; j < count; ++j)
          if (groups[j] == -r) {
            groups[j] = groups[--count];
            break;
          }
      }
    }
    const std::size_t rest = have - whole * sizeof(int);
    for (std::size_t i = 0; i < rest; ++i) bytes[i] = bytes[whole * sizeof(int) + i];
    have = rest;
  }
  for (std::size_t i = 0; i < count; ++i) ::kill(-groups[i], SIGKILL);
  if (has_cgroup) teardown_run_cgroup(5, cgroup->name(), 4, capacity);
  ::_exit(0);
}

}  // namespace

orphan_guard::~orphan_guard() {
  finish();
}

bool orphan_guard::start(std::size_t capacity, const run_cgroup* cgroup) noexcept {
  if (running()) return true;
  // A socket, not a pipe: a send with MSG_NOSIGNAL to a dead guard is EPIPE, where a write to a
  // pipe would raise SIGPIPE in the host, which the library must never do.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return false;
  std::unique_ptr<int[]> groups(new (std::nothrow) int[capacity == 0 ? 1 : capacity]);
  try {
    groups_.reserve(capacity);  // add() must not allocate: it is noexcept
  } catch (...) {
    groups.reset();
  }
  if (!groups) {
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  pid_t pid;
  {
    const all_signals_blocked blocked;  // and the guard never unblocks them
    pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      guard_main(fds[0], groups.get(), capacity, cgroup);
    }
  }
  ::close(fds[0]);
  if (pid < 0) {
    ::close(fds[1]);
    return false;
  }
  pid_ = pid;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  write_fd_ = fds[1];
  return true;
}

bool orphan_guard::send(int record) noexcept {
  if (write_fd_ < 0) return false;
  ssize_t n;
  while ((n = ::send(write_fd_, &record, sizeof record, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof record)) return true;
  // The guard is gone (killed by someone): it protects nothing any more.
  ::close(write_fd_);
  write_fd_ = -1;
  return false;
}

bool orphan_guard::add(int pgid) noexcept {
  if (pgid <= 0 || !send(pgid)) return false;
  if (groups_.size() < groups_.capacity()) groups_.push_back(pgid);
  return true;
}

bool orphan_guard::remove(int pgid) noexcept {
  std::erase(groups_, pgid);
  return pgid > 0 && send(-pgid);
}

// Whether the guard exited (and was reaped) within `limit`.
bool orphan_guard::wait_for_exit(std::chrono::milliseconds limit) noexcept {
  if (pidfd_ >= 0) {
    pollfd exit_event{pidfd_, POLLIN, 0};
    int ready;
    while ((ready = ::poll(&exit_event, 1, static_cast<int>(limit.count()))) < 0 &&
           errno == EINTR) {
    }
    if (ready == 0) return false;
  }
  while (::waitpid(pid_, nullptr, pidfd_ >= 0 ? WNOHANG : 0) < 0 && errno == EINTR) {
  }
  return true;
}

void orphan_guard::finish() noexcept {
  if (write_fd_ >= 0) {
    ::close(write_fd_);
    write_fd_ = -1;
  }
  if (pid_ > 0) {
    if (!wait_for_exit(finish_wait)) {
      // Stopped, or stuck: do its work here, and end it.
      for (int group : groups_) ::kill(-group, SIGKILL);
      ::kill(pid_, SIGKILL);
      wait_for_exit(finish_wait);
    }
    pid_ = -1;
  }
  groups_.clear();
  if (pidfd_ >= 0) {
    ::close(pidfd_);
    pidfd_ = -1;
  }
}

}  // namespace pipemux::detail
