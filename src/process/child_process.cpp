#include "process/child_process.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <mutex>

namespace pipemux::detail {
namespace asio = boost::asio;

// The child's pidfd, waited on with our own non-blocking waitpid. (Boost.Process 1.81's wait
// reaps with a blocking waitpid(pid, 0) once the pidfd reads as ready, and under load that
// readiness came while the child still ran: the loop then hung in waitpid, or, with a signal
// handler installed, failed it with EINTR and lost the status.)
//
// `mutex` orders reaping against signalling: kill_and_reap() may reap from another thread, and
// once a pid is reaped it may be reused, so no signal may be sent to it after that.
struct child_process::state {
  state(const asio::any_io_executor& executor, int child_pid, int child_pidfd)
      : pid(child_pid), pidfd(executor, child_pidfd), pidfd_number(child_pidfd) {}
  int pid;
  asio::posix::stream_descriptor pidfd;
  int pidfd_number;  // for poll() from another thread, which must not touch `pidfd`
  std::mutex mutex;
  bool reaped = false;
  int status = 0;                // once reaped
  bool killed_for_good = false;  // by kill_and_reap(): no signal is sent after it
};

std::unique_ptr<child_process> child_process::launch(const asio::any_io_executor& executor,
                                                     const launch_request& request,
                                                     std::error_code& ec) {
  const spawned_child child = spawn(request, ec);
  if (child.pid < 0) return nullptr;
  try {
    auto adopted = std::make_shared<state>(executor, child.pid, child.pidfd);
    return std::unique_ptr<child_process>(
        new child_process(std::move(adopted), child.pid, request.own_process_group));
  } catch (const std::exception& e) {  // out of memory, or registering with the reactor failed
    ::close(child.pidfd);
    ::kill(child.pid, SIGKILL);
    ::waitpid(child.pid, nullptr, 0);
    const auto* system_error = dynamic_cast<const std::system_error*>(&e);
    ec = system_error != nullptr ? system_error->code()
                                 : std::make_error_code(std::errc::not_enough_memory);
    return nullptr;
  }
}

child_process::child_process(std::shared_ptr<state> s, int pid, bool own_group)
    : state_(std::move(s)), pid_(pid), own_group_(own_group) {}

child_process::~child_process() {
  signal(SIGKILL);
}

bool child_process::reaped() const noexcept {
  const std::lock_guard lock(state_->mutex);
  return state_->reaped;
}

bool child_process::exited() const noexcept {
  const std::lock_guard lock(state_->mutex);
  if (state_->reaped) return true;
  siginfo_t info{};
  // WNOWAIT: looked at, left for the wait (async_wait) to reap.
  return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

// Readiness is only a hint: waitpid(WNOHANG) decides, and waits again if the child still runs.
void child_process::wait_for_exit(std::shared_ptr<state> state,
                                  std::function<void(std::error_code, int)> handler) {
  auto& pidfd = state->pidfd;
  pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                   [state = std::move(state),
                    handler = std::move(handler)](const boost::system::error_code& ec) mutable {
                     if (ec) return handler(ec, 0);
                     std::unique_lock lock(state->mutex);
                     if (state->reaped) {  // by kill_and_reap()
                       lock.unlock();
                       return handler({}, state->status);
                     }
                     int status = 0;
                     pid_t reaped = 0;
                     do {
                       reaped = ::waitpid(state->pid, &status, WNOHANG);
                     } while (reaped < 0 && errno == EINTR);
                     if (reaped == 0) {
                       lock.unlock();
                       return wait_for_exit(std::move(state), std::move(handler));
                     }
                     if (reaped < 0) {  // reaped by someone else (SIGCHLD ignored, waitpid(-1))
                       const int error = errno;
                       lock.unlock();
                       return handler(std::error_code(error, std::system_category()), 0);
                     }
                     state->reaped = true;
                     state->status = status;
                     lock.unlock();
                     boost::system::error_code ignored;
                     state->pidfd.close(ignored);
                     handler({}, status);
                   });
}

void child_process::async_wait(std::function<void(std::error_code, int)> handler) {
  wait_for_exit(state_, std::move(handler));
}

bool child_process::kill_and_reap(std::chrono::steady_clock::time_point deadline) noexcept {
  const std::lock_guard lock(state_->mutex);
  if (!state_->reaped) {
    if (own_group_) ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
  state_->killed_for_good = true;
  if (state_->reaped) return true;
  for (;;) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) {
      state_->reaped = true;
      state_->status = status;
      return true;
    }
    if (reaped < 0 && errno != EINTR) return false;  // someone else reaped it
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) return false;
    // The pidfd reads as ready once the child has exited (a hint: waitpid decides).
    pollfd exited{state_->pidfd_number, POLLIN, 0};
    ::poll(&exited, 1,
           static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), 100)));
  }
}

bool child_process::signal(int sig, bool even_if_reaped) noexcept {
  const std::lock_guard lock(state_->mutex);
  if (state_->killed_for_good) return false;  // its pid (and group) may be another's by now
  const bool reaped = state_->reaped;
  bool delivered = false;
  if (own_group_ && (!reaped || even_if_reaped)) delivered = ::kill(-pid_, sig) == 0;
  // A child that moved to another group (setpgid) is not reached through its old one; until
  // it is reaped its pid cannot be reused, so signalling it directly is safe. Only then: a
  // second copy of the signal would reach a child that handles it twice.
  if (!reaped && (!own_group_ || ::getpgid(pid_) != pid_))
    delivered = ::kill(pid_, sig) == 0 || delivered;
  return delivered;
}

std::optional<job_control_change> child_process::poll_job_control() noexcept {
  const std::lock_guard lock(state_->mutex);
  if (state_->reaped) return std::nullopt;
  // Stops and continuations only: WEXITED is left out, so this never reaps (the wait does).
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WCONTINUED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return std::nullopt;
  if (info.si_code == CLD_STOPPED) return job_control_change{true, info.si_status};
  if (info.si_code == CLD_CONTINUED) return job_control_change{false, SIGCONT};
  return std::nullopt;
}

}  // namespace pipemux::detail
