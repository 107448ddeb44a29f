#include "process/orphan_guard.hpp"

#include "process/run_cgroup.hpp"
#include "process/spawn.hpp"
#include "process/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <system_error>

namespace pipemux::detail {
namespace {

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

// The running executable's directory joined with `relative`; empty when /proc is not there.
std::string beside_own_executable(const char* relative) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self);
  if (n <= 0 || static_cast<std::size_t>(n) == sizeof self) return {};
  std::string path(self, static_cast<std::size_t>(n));
  path.erase(path.rfind('/') + 1);
  return path + relative;
}

std::vector<std::string> own_environment() {
  std::vector<std::string> environment;
  for (char** variable = environ; variable != nullptr && *variable != nullptr; ++variable)
    environment.emplace_back(*variable);
  return environment;
}

}  // namespace

std::string orphan_guard::find_executable() {
  if (const char* chosen = std::getenv("PIPEMUX_GUARD_EXECUTABLE");
      chosen != nullptr && *chosen != '\0')
    return chosen;
  std::string installed = PIPEMUX_GUARD_INSTALLED;
  if (executable(installed)) return installed;
  if (std::string moved = beside_own_executable(PIPEMUX_GUARD_FROM_BINDIR); executable(moved))
    return moved;
  if (std::string built = PIPEMUX_GUARD_BUILT; executable(built)) return built;
  return installed;
}

orphan_guard::~orphan_guard() {
  finish();
}

bool orphan_guard::start(std::size_t capacity, const run_cgroup* cgroup) noexcept {
  if (running()) return true;
  try {
    start_error_.clear();
    return launch(capacity, cgroup);
  } catch (const std::exception& e) {  // out of memory
    try {
      start_error_ = e.what();
    } catch (...) {
    }
    return false;
  }
}

bool orphan_guard::launch(std::size_t capacity, const run_cgroup* cgroup) {
  groups_.reserve(capacity);  // add() must not allocate: it is noexcept
  launch_request request;
  request.executable = find_executable();
  // A socket, not a pipe: a send with MSG_NOSIGNAL to a dead guard is EPIPE, where a write to a
  // pipe would raise SIGPIPE in the host, which the library must never do.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    start_error_ = "socketpair: " + std::generic_category().message(errno);
    return false;
  }
  const unique_fd theirs(fds[0]);
  unique_fd ours(fds[1]);
  // It holds none of our stdio: a reader of our output sees EOF when we are gone.
  const unique_fd null_fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  request.argv = {"pipemux-guard", "1", std::to_string(capacity)};
  request.inherited_fds = {theirs.get()};
  if (cgroup != nullptr) {
    request.argv.emplace_back(cgroup->name());
    request.inherited_fds.push_back(cgroup->directory_fd());
    request.inherited_fds.push_back(cgroup->parent_fd());
  }
  // Ours, so that it finds its libraries where we found ours (LD_LIBRARY_PATH).
  request.environment = own_environment();
  request.stdout_fd = null_fd.get();
  request.stderr_fd = null_fd.get();
  request.own_process_group = true;  // out of the terminal's foreground group: no Ctrl-C
  request.die_with_parent = false;   // our death is its cue
  request.signals_blocked = true;    // a stop of everything (systemd's) must leave it working
  std::error_code ec;
  const spawned_child guard = spawn(request, ec);
  if (ec) {
    start_error_ = request.executable + ": " + ec.message();
    return false;
  }
  pid_ = guard.pid;
  pidfd_ = guard.pidfd;
  write_fd_ = ours.release();
  return true;
}

std::string orphan_guard::loss_description() const {
  const char* consequence = ": if this process is killed, grandchildren may outlive it";
  if (!start_error_.empty())
    return "the guard process (pipemux-guard) could not be started (" + start_error_ +
           "; PIPEMUX_GUARD_EXECUTABLE names its program)" + consequence;
  return std::string("the guard process (pipemux-guard) is gone") + consequence;
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

// Whether the guard exited (and was reaped) within `limit`. Never waits longer: the pidfd
// (spawn() always makes one) says when it has exited, and only then is it reaped.
bool orphan_guard::wait_for_exit(std::chrono::milliseconds limit) noexcept {
  pollfd exit_event{pidfd_, POLLIN, 0};
  int ready;
  while ((ready = ::poll(&exit_event, 1, static_cast<int>(limit.count()))) < 0 && errno == EINTR) {
  }
  if (ready <= 0) return false;
  while (::waitpid(pid_, nullptr, WNOHANG) < 0 && errno == EINTR) {
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
