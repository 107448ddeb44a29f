#include "child_process.hpp"

#include "signal_mask.hpp"

// Boost 1.81 issue #280: with BOOST_PROCESS_USE_STD_FS these must come before any v2 header.
#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

namespace pipemux::detail {
namespace asio = boost::asio;
namespace bp = boost::process::v2;

// The child's pidfd, waited on with our own non-blocking waitpid rather than v2's wait: v2
// reaps with a blocking waitpid(pid, 0) once the pidfd reads as ready, and under load that
// readiness came while the child still ran (bug 9): the loop then hung in waitpid (or, with
// a signal handler installed, failed it with EINTR and lost the status).
struct child_process::state {
  state(const asio::any_io_executor& executor, int child_pid, int child_pidfd)
      : pid(child_pid), pidfd(executor, child_pidfd) {}
  int pid;
  asio::posix::stream_descriptor pidfd;
  bool reaped = false;
};

namespace {

// Marks every fd above 2 close-on-exec. 1.81's own close_all skips a range (bug 1, fixed in
// 1.85), and closing outright would also close v2's exec-error pipe, which must stay open
// until exec so that a failed exec is still reported.
void mark_inherited_fds_cloexec() noexcept {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  const long max_fd = ::sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < (max_fd > 0 ? max_fd : 1024); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Runs in the child between fork and exec: only async-signal-safe calls.
struct child_setup {
  pid_t parent_pid;
  bool own_process_group;
  bool die_with_parent;
  int cgroup_procs_fd;            // -1: stay in ours
  const char* working_directory;  // nullptr: stay

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*&) const {
    // First, so that nothing this child starts can be outside the cgroup ("0" means us).
    if (cgroup_procs_fd >= 0 && ::write(cgroup_procs_fd, "0", 1) != 1)
      return bp::error_code(errno, bp::system_category());
    if (own_process_group) ::setpgid(0, 0);
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      // The parent may have died before prctl: then nobody would ever send the signal.
      if (::getppid() != parent_pid) ::_exit(128 + SIGKILL);
    }
    // Dispositions set to handlers reset at exec, but SIG_IGN survives it (a CLI that ignores
    // SIGPIPE must not hand that to its children), and the mask was fully blocked around fork.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &default_action, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (working_directory != nullptr && ::chdir(working_directory) != 0)
      return bp::error_code(errno, bp::system_category());
    mark_inherited_fds_cloexec();
    return {};
  }

  // 1.81 calls exit() in the child when exec fails (bug 4, issue #514), which would run our
  // atexit handlers and flush the parent's buffered output a second time. v2 has already
  // reported errno through its pipe when this runs, so leave at once. (The variadic form also
  // matches 1.81's mistyped detection expression for this hook.)
  template <class... Args>
  void on_exec_error(Args&&...) const noexcept {
    ::_exit(127);
  }
};

}  // namespace

std::unique_ptr<child_process> child_process::launch(const asio::any_io_executor& executor,
                                                     const launch_request& request,
                                                     std::error_code& ec) {
  std::vector<const char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& arg : request.argv) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  std::vector<const char*> envp;
  envp.reserve(request.environment.size() + 1);
  for (const auto& entry : request.environment) envp.push_back(entry.c_str());
  envp.push_back(nullptr);

  bp::posix::default_launcher launcher;
  launcher.env = envp.data();  // set directly: process_environment fails to link in 1.81 (bug 7)
  const child_setup setup{
      ::getpid(), request.own_process_group, request.die_with_parent, request.cgroup_procs_fd,
      request.working_directory.empty() ? nullptr : request.working_directory.c_str()};
  bp::process_stdio stdio{nullptr, {}, {}};
  if (request.stdout_fd >= 0) stdio.out = request.stdout_fd;
  if (request.stderr_fd >= 0) stdio.err = request.stderr_fd;

  // v2 calls notify_fork() on the launching executor's context, and in the child that rebuilds
  // the reactor: with a shared io_context run by several threads that can deadlock (bug 5), and
  // it costs a re-registration of every descriptor per spawn. So launch on a private, idle
  // context and adopt the pid on the caller's executor afterwards.
  asio::io_context launch_context;
  bp::error_code launch_error;
  const char** raw_argv = argv.data();  // a raw argv keeps the caller's argv[0]
  {
    const all_signals_blocked blocked;
    // The executor overload: 1.81's (context, ec, ...) overload throws instead (bug 2).
    auto launched = launcher(launch_context.get_executor(), launch_error, request.executable,
                             raw_argv, stdio, setup);
    if (!launch_error) launched.detach();  // adopted below; do not let it kill the child
  }
  if (launch_error) {
    // A failed exec leaves the forked child as a zombie in 1.81 (bug 3).
    if (launcher.pid > 0) ::waitpid(launcher.pid, nullptr, 0);
    ec = launch_error;
    return nullptr;
  }
  const int pid = launcher.pid;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {  // out of descriptors: that child cannot be watched
    ec = std::error_code(errno, std::system_category());
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return nullptr;
  }
  try {
    auto adopted = std::make_shared<state>(executor, pid, pidfd);
    return std::unique_ptr<child_process>(
        new child_process(std::move(adopted), pid, request.own_process_group));
  } catch (const std::system_error& e) {  // registering it with the reactor failed
    ::close(pidfd);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ec = e.code();
    return nullptr;
  }
}

child_process::child_process(std::shared_ptr<state> s, int pid, bool own_group)
    : state_(std::move(s)), pid_(pid), own_group_(own_group) {}

child_process::~child_process() {
  signal(SIGKILL);
}

bool child_process::reaped() const noexcept {
  return state_->reaped;
}

// Readiness is only a hint: waitpid(WNOHANG) decides, and waits again if the child still runs.
void child_process::wait_for_exit(std::shared_ptr<state> state,
                                  std::function<void(std::error_code, int)> handler) {
  auto& pidfd = state->pidfd;
  pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                   [state = std::move(state),
                    handler = std::move(handler)](const boost::system::error_code& ec) mutable {
                     if (ec) return handler(ec, 0);
                     int status = 0;
                     pid_t reaped = 0;
                     do {
                       reaped = ::waitpid(state->pid, &status, WNOHANG);
                     } while (reaped < 0 && errno == EINTR);
                     if (reaped == 0) return wait_for_exit(std::move(state), std::move(handler));
                     if (reaped < 0)  // reaped by someone else (SIGCHLD ignored, waitpid(-1))
                       return handler(std::error_code(errno, std::system_category()), 0);
                     state->reaped = true;
                     boost::system::error_code ignored;
                     state->pidfd.close(ignored);
                     handler({}, status);
                   });
}

void child_process::async_wait(std::function<void(std::error_code, int)> handler) {
  wait_for_exit(state_, std::move(handler));
}

bool child_process::signal(int sig, bool even_if_reaped) noexcept {
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
  if (state_->reaped) return std::nullopt;
  // Stops and continuations only: WEXITED is left out, so this never reaps (v2's wait does).
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WCONTINUED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return std::nullopt;
  if (info.si_code == CLD_STOPPED) return job_control_change{true, info.si_status};
  if (info.si_code == CLD_CONTINUED) return job_control_change{false, SIGCONT};
  return std::nullopt;
}

}  // namespace pipemux::detail
