#include "process/spawn.hpp"

#include "process/clone3.hpp"
#include "process/signal_mask.hpp"
#include "process/unique_fd.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <csignal>

namespace pipemux::detail {
namespace {

// What the child reads (prepared by the parent, which is suspended until exec) and the one
// thing it writes back: the errno of the step that failed.
struct child_plan {
  const char* path;
  char* const* argv;
  char* const* envp;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
  int cgroup_procs_fd;       // the child writes "0" there (not born in its cgroup)
  const int* inherited_fds;  // to become fds 3, 4, ...
  int inherited_count;
  const char* working_directory;  // nullptr: stay
  pid_t parent_pid;
  bool own_process_group;
  bool controlling_terminal;
  bool die_with_parent;
  bool signals_blocked;
  int error = 0;
};

// The child shares the parent's memory, and sanitizers keep process-wide tables (TSan's
// signal handlers and fds, say) that their wrappers of sigaction, close or dup2 would update
// as if the parent had called them. So the child makes raw system calls only, and is not
// instrumented.
#define PIPEMUX_CHILD_CODE __attribute__((no_sanitize("address", "thread", "undefined"), noinline))

PIPEMUX_CHILD_CODE long sys(long number, long a = 0, long b = 0, long c = 0, long d = 0) {
  return ::syscall(number, a, b, c, d);
}

PIPEMUX_CHILD_CODE long address(const void* p) {
  return reinterpret_cast<long>(p);
}

// The kernel's struct sigaction (not glibc's): a default disposition needs no restorer.
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};
constexpr long kernel_sigset_size = sizeof(unsigned long);

[[noreturn]] PIPEMUX_CHILD_CODE void fail(child_plan& plan) {
  plan.error = errno != 0 ? errno : EINVAL;
  sys(SYS_exit_group, 127);
  __builtin_unreachable();
}

// Moves an fd that a dup2 below would overwrite out of the way (the targets are 0, 1, 2 and
// those of the inherited fds: all below `first_free`).
PIPEMUX_CHILD_CODE int out_of_the_way(int fd, int first_free) {
  if (fd < 0 || fd >= first_free) return fd;
  return static_cast<int>(sys(SYS_fcntl, fd, F_DUPFD, first_free));
}

// dup2 onto itself would leave close-on-exec set: clear it instead.
PIPEMUX_CHILD_CODE bool install(int fd, int target) {
  if (fd == target) return sys(SYS_fcntl, fd, F_SETFD, 0) == 0;
  return sys(SYS_dup2, fd, target) == target;
}

PIPEMUX_CHILD_CODE int child_main(void* arg) {
  auto& plan = *static_cast<child_plan*>(arg);
  // First, so that nothing this child starts can be outside the cgroup ("0" means us).
  if (plan.cgroup_procs_fd >= 0 && sys(SYS_write, plan.cgroup_procs_fd, address("0"), 1) != 1)
    fail(plan);
  if (plan.controlling_terminal) {
    if (sys(SYS_setsid) < 0 || sys(SYS_ioctl, plan.stdout_fd, TIOCSCTTY, 0) != 0) fail(plan);
  } else if (plan.own_process_group) {
    sys(SYS_setpgid, 0, 0);
  }
  if (plan.die_with_parent) {
    sys(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl: then nobody would ever send the signal.
    if (sys(SYS_getppid) != plan.parent_pid) sys(SYS_exit_group, 128 + SIGKILL);
  }
  // Handlers reset at exec, but SIG_IGN survives it (a CLI that ignores SIGPIPE must not hand
  // that to its children), and the parent blocked every signal around the clone. Ignoring
  // each first drops what is pending: a Ctrl-C to the terminal's foreground group that came
  // before setpgid above was meant for the parent, which passes it on as the stop signal (and
  // nobody else knows this pid yet: the parent waits for the exec).
  kernel_sigaction ignore_action{SIG_IGN, 0, nullptr, 0};
  kernel_sigaction default_action{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < NSIG; ++sig) {
    sys(SYS_rt_sigaction, sig, address(&ignore_action), 0, kernel_sigset_size);
    sys(SYS_rt_sigaction, sig, address(&default_action), 0, kernel_sigset_size);
  }
  const unsigned long mask = plan.signals_blocked ? ~0UL : 0UL;
  sys(SYS_rt_sigprocmask, SIG_SETMASK, address(&mask), 0, kernel_sigset_size);
  if (plan.working_directory != nullptr && sys(SYS_chdir, address(plan.working_directory)) != 0)
    fail(plan);

  const int first_free = 3 + plan.inherited_count;
  const int out = out_of_the_way(plan.stdout_fd, first_free);
  const int err =
      plan.stderr_fd == plan.stdout_fd ? out : out_of_the_way(plan.stderr_fd, first_free);
  bool moved = (plan.stdout_fd < 0 || out >= 0) && (plan.stderr_fd < 0 || err >= 0);
  int inherited[launch_request::max_inherited_fds];
  for (int i = 0; i < plan.inherited_count; ++i) {
    inherited[i] = out_of_the_way(plan.inherited_fds[i], first_free);
    moved = moved && inherited[i] >= 0;
  }
  // Its stdin: a pipe or its terminal (the parent writes to it), else /dev/null.
  const int in = plan.stdin_fd < 0
                     ? static_cast<int>(sys(SYS_openat, AT_FDCWD, address("/dev/null"), O_RDONLY))
                 : plan.stdin_fd == plan.stdout_fd ? out
                                                   : plan.stdin_fd;
  const int in_place = in == out ? out : out_of_the_way(in, first_free);
  if (in_place < 0 || !moved) fail(plan);
  if (!install(in_place, 0) || (out >= 0 && !install(out, 1)) || (err >= 0 && !install(err, 2)))
    fail(plan);
  for (int i = 0; i < plan.inherited_count; ++i)
    if (!install(inherited[i], 3 + i)) fail(plan);
  // Only 0, 1, 2 and the inherited fds go on to the program (any other is a leak: a pipe held
  // open by a sibling holds its EOF back).
  if (sys(SYS_close_range, first_free, ~0U, 0) != 0) {  // before Linux 5.9: one by one
    struct rlimit limit {};
    const bool known = sys(SYS_getrlimit, RLIMIT_NOFILE, address(&limit)) == 0;
    const long max_fd = known && limit.rlim_cur != RLIM_INFINITY ? long(limit.rlim_cur) : 1024;
    for (long fd = first_free; fd < max_fd; ++fd) sys(SYS_close, fd);
  }
  sys(SYS_execve, address(plan.path), address(plan.argv), address(plan.envp));
  fail(plan);
}

using clone_function = int (*)(int (*)(void*), void*, int, void*, ...);

// ThreadSanitizer intercepts clone() and runs its fork-child bookkeeping in the child, which,
// sharing our memory, marks this process as a child forked from a multi-threaded parent: the
// next thread it starts kills it. Under TSan, call libc's own clone.
clone_function libc_clone() {
#if defined(__SANITIZE_THREAD__)
  static const clone_function real = [] {
    void* libc = ::dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    void* symbol = libc != nullptr ? ::dlsym(libc, "clone") : nullptr;
    return symbol != nullptr ? reinterpret_cast<clone_function>(symbol) : &::clone;
  }();
  return real;
#else
  return &::clone;
#endif
}

std::vector<char*> pointers_to(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// The child's own stack: it needs little (no allocation, no formatting), and runs only until
// exec, while the parent waits. Mapped per spawn: a host's thread may have a small stack.
constexpr std::size_t child_stack_size = std::size_t{64} * 1024;

// Whether clone3 may start a child in its cgroup: not before Linux 5.7, nor under a seccomp
// filter that refuses clone3 (ENOSYS in Docker's default profile, EPERM in older ones and in
// some sandboxes): then each child moves itself in.
std::atomic<bool> birth_in_cgroup_refused{false};

// The child, started by clone3 in the cgroup of `request` (CLONE_INTO_CGROUP); its pid, or -1
// with errno, and then the caller tries the other way, whose error is the one that counts.
int born_in_cgroup(const launch_request& request, child_plan& plan, void* stack, int& pidfd) {
  if (!request.cgroup_at_birth || birth_in_cgroup_refused.load(std::memory_order_relaxed)) {
    errno = ENOSYS;
    return -1;
  }
  int pid = -1;
  {
    const all_signals_blocked blocked;  // as for clone below
    pid = clone3_with_function({.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | clone_into_cgroup,
                                .pidfd = &pidfd,
                                .exit_signal = SIGCHLD,
                                .cgroup_fd = request.cgroup_fd,
                                .stack = stack,
                                .stack_size = child_stack_size,
                                .child = child_main,
                                .argument = &plan});
  }
  if (pid < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
    birth_in_cgroup_refused.store(true, std::memory_order_relaxed);
  return pid;
}

}  // namespace

spawned_child spawn(const launch_request& request, std::error_code& ec) {
  if (request.inherited_fds.size() > launch_request::max_inherited_fds) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  const auto argv = pointers_to(request.argv);
  const auto envp = pointers_to(request.environment);
  child_plan plan{
      .path = request.executable.c_str(),
      .argv = argv.data(),
      .envp = envp.data(),
      .stdin_fd = request.stdin_fd,
      .stdout_fd = request.stdout_fd,
      .stderr_fd = request.stderr_fd,
      .cgroup_procs_fd = -1,
      .inherited_fds = request.inherited_fds.data(),
      .inherited_count = static_cast<int>(request.inherited_fds.size()),
      .working_directory =
          request.working_directory.empty() ? nullptr : request.working_directory.c_str(),
      .parent_pid = ::getpid(),
      .own_process_group = request.own_process_group,
      .controlling_terminal = request.controlling_terminal,
      .die_with_parent = request.die_with_parent,
      .signals_blocked = request.signals_blocked,
  };
  void* stack = ::mmap(nullptr, child_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    ec = std::error_code(errno, std::system_category());
    return {};
  }
  spawned_child child;
  unique_fd cgroup_procs;  // for a child that moves itself into its cgroup
  if (request.cgroup_fd >= 0) {
    child.pid = born_in_cgroup(request, plan, stack, child.pidfd);
    // Whatever refused it (a filter, an old kernel, the cgroup itself), the old way follows:
    // the child writes its pid into cgroup.procs, and what fails there is the error.
    if (child.pid < 0) {
      cgroup_procs.reset(::openat(request.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
      if (cgroup_procs.get() < 0) {
        ec = std::error_code(errno, std::system_category());
        ::munmap(stack, child_stack_size);
        return {};
      }
      plan.cgroup_procs_fd = cgroup_procs.get();
    }
  }
  if (child.pid < 0) {
    // No handler of ours may run in the child before it has reset them all.
    const all_signals_blocked blocked;
    child.pid = libc_clone()(child_main, static_cast<char*>(stack) + child_stack_size,
                             CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &plan, &child.pidfd);
  }
  const int clone_errno = errno;
  ::munmap(stack, child_stack_size);  // the child has exec'd or exited: done with it
  if (child.pid < 0) {
    ec = std::error_code(clone_errno, std::system_category());
    return {};
  }
  if (plan.error != 0) {
    ::close(child.pidfd);
    while (::waitpid(child.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    ec = std::error_code(plan.error, std::system_category());
    return {};
  }
  ec.clear();
  return child;
}

}  // namespace pipemux::detail
