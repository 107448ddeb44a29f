// Could pipemux start its children through Boost.Process v2 (1.81) at today's speed? Starts N
// children (/bin/true, stdout on a pipe of its own, read to EOF, reaped) with
//   (a) pipemux::detail::spawn, as the supervisor calls it (own process group, die with parent)
//   (b) v2's default launcher (fork), with an initializer doing the same setup in the child
//   (c) v2's vfork_launcher, with the same initializers
//   (d) posix_spawn, the floor: what the kernel needs to start a process
// in a small host and in one with 1 GiB resident (a fork copies the page tables of all of it;
// clone(CLONE_VM) and vfork do not). The contenders alternate within each round, starting each
// round with the next one, so that load from elsewhere on the machine hits all alike.
//
//   bench_launchers [rounds]          the table (default 5 rounds)
//   bench_launchers experiments       what breaks: vfork_launcher after an fd below the reactor's
//                                     was closed; v2's launchers while another thread runs the
//                                     io_context (run it under `timeout`: it may deadlock)

// Debian 12 has no libboost_filesystem 1.81, so v2 uses std::filesystem
// (BOOST_PROCESS_USE_STD_FS, set by CMake), which on g++ 12 needs these two headers before any
// v2 header (boostorg/process#280).
#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

// Internal, to create the reactor early (see main); needs io_context.hpp first.
#include <boost/asio/detail/reactor.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "process/spawn.hpp"

namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

using clock_type = std::chrono::steady_clock;
constexpr const char* executable = "/bin/true";

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bench_launchers: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// Reads the child's stdout to EOF, which comes once no process holds its write end any more.
void drain(int fd) {
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) die("read");
  }
  ::close(fd);
}

void check_exit_code(int code) {
  if (code != 0) {
    std::fprintf(stderr, "bench_launchers: a child failed (%d)\n", code);
    std::exit(1);
  }
}

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die("waitpid");
  check_exit_code(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

struct timing {
  double start_ms;  // the N launches (pipe, start, close of the write end)
  double total_ms;  // and then every pipe read to EOF and every child reaped
};

// Starts n children with `launch(write_fd)`, which returns what `finish(handle)` reaps.
template <class Launch, class Finish>
timing run(int n, Launch launch, Finish finish) {
  using handle = std::invoke_result_t<Launch&, int>;
  std::vector<handle> handles;
  std::vector<int> read_fds;
  handles.reserve(n);
  read_fds.reserve(n);
  const auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    // O_CLOEXEC: 1.81's launchers do not really close inherited fds (boostorg/process#360), and
    // a sibling holding this write end would hold back its EOF.
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) die("pipe2");
    handles.push_back(launch(fds[1]));
    ::close(fds[1]);  // v2 leaves the parent's copy open: no EOF without this
    read_fds.push_back(fds[0]);
  }
  const double start_ms = ms_since(start);
  for (int i = 0; i < n; ++i) {
    drain(read_fds[i]);
    finish(handles[i]);
  }
  return {start_ms, ms_since(start)};
}

// What pipemux's child does between clone and exec, as a v2 initializer (in the child).
struct supervisor_child_setup {
  pid_t parent = ::getpid();

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const bp::filesystem::path&,
                               const char* const*) const {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(128 + SIGKILL);  // the parent died before prctl
    return {};
  }
};

std::vector<std::string> environment_strings() {
  std::vector<std::string> strings;
  for (char** e = environ; *e != nullptr; ++e) strings.emplace_back(*e);
  return strings;
}

timing run_pipemux(int n) {
  pipemux::detail::launch_request request;
  request.executable = executable;
  request.argv = {"true"};
  request.environment = environment_strings();
  request.own_process_group = true;
  request.die_with_parent = true;
  return run(
      n,
      [&](int write_fd) {
        request.stdout_fd = write_fd;
        std::error_code ec;
        const auto child = pipemux::detail::spawn(request, ec);
        if (ec) die("spawn");
        return child;
      },
      [](const pipemux::detail::spawned_child& child) {
        ::close(child.pidfd);
        reap(child.pid);
      });
}

template <class Launcher>
timing run_v2(int n, asio::io_context& context) {
  const bp::filesystem::path path(executable);
  const std::vector<std::string> args;
  const supervisor_child_setup setup;
  return run(
      n,
      [&](int write_fd) {
        Launcher launcher;
        // The executor overload: the context's one ignores an error_code and throws (1.81).
        return launcher(context.get_executor(), path, args,
                        bp::process_stdio{nullptr, write_fd, {}}, setup);
      },
      [](auto& child) { check_exit_code(child.wait()); });
}

timing run_posix_spawn(int n) {
  posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attributes, 0);
  char name[] = "true";
  char* const argv[] = {name, nullptr};
  const timing t = run(
      n,
      [&](int write_fd) {
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        ::posix_spawn_file_actions_adddup2(&actions, write_fd, 1);
        pid_t pid = -1;
        const int error = ::posix_spawn(&pid, executable, &actions, &attributes, argv, environ);
        ::posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
          errno = error;
          die("posix_spawn");
        }
        return pid;
      },
      [](pid_t pid) { reap(pid); });
  ::posix_spawnattr_destroy(&attributes);
  return t;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

constexpr std::array<const char*, 4> contender_names = {
    "(a) pipemux spawn", "(b) v2 default (fork)", "(c) v2 vfork_launcher", "(d) posix_spawn"};

void measure(const char* host, int rounds, asio::io_context& context) {
  for (const int n : {256, 1024}) {
    std::array<std::vector<double>, 4> starts, totals;
    for (int round = 0; round < rounds; ++round) {
      for (int k = 0; k < 4; ++k) {
        const int which = (round + k) % 4;
        timing t{};
        switch (which) {
          case 0:
            t = run_pipemux(n);
            break;
          case 1:
            t = run_v2<bp::posix::default_launcher>(n, context);
            break;
          case 2:
            t = run_v2<bp::posix::vfork_launcher>(n, context);
            break;
          default:
            t = run_posix_spawn(n);
            break;
        }
        starts[which].push_back(t.start_ms);
        totals[which].push_back(t.total_ms);
      }
    }
    std::array<double, 4> start, total;
    for (int i = 0; i < 4; ++i) {
      start[i] = median(starts[i]);
      total[i] = median(totals[i]);
    }
    for (int i = 0; i < 4; ++i)
      std::printf("%-12s %5d  %-22s %9.1f %9.1f   %5.2f %5.2f   %5.2f %5.2f\n", host, n,
                  contender_names[i], start[i], total[i], start[i] / start[0], total[i] / total[0],
                  start[i] / start[3], total[i] / total[3]);
    std::fflush(stdout);
  }
}

// vfork_launcher calls notify_fork(fork_child) in a child that shares the parent's memory: the
// reactor's epoll, timer and eventfd are closed and created again in the child's fd table, and
// their new numbers written into the parent's reactor. With a free fd below them in the parent
// they get other numbers, which the parent does not have open: its reactor is broken.
void closed_fd_below_reactor() {
  // Four: the pipe and /dev/null (process_stdio's nullptr) take three of them again.
  std::array<int, 4> low{};
  for (int& fd : low) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  asio::io_context context;
  asio::use_service<asio::detail::reactor>(context);  // its fds above those
  for (const int fd : low) ::close(fd);
  std::printf("vfork_launcher, after fds below the reactor's were closed: ");
  try {
    run_v2<bp::posix::vfork_launcher>(1, context);
    std::printf("the child started and was reaped\n");
  } catch (const std::exception& e) {
    std::printf("threw: %s\n", e.what());
  }
  std::fflush(stdout);
}

// v2's launchers call notify_fork in the child, which rebuilds the reactor of a context that
// another thread may be running (boostorg/process#430, asio#1503): does the context still work?
template <class Launcher>
void with_running_context(const char* name, int n) {
  asio::io_context context;
  auto work = asio::make_work_guard(context);
  asio::steady_timer timer(context);
  std::atomic<long> ticks{0};
  // Keeps the reactor busy (timerfd, epoll) while children are started.
  std::function<void()> tick = [&] {
    timer.expires_after(std::chrono::microseconds(200));
    timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      ++ticks;
      tick();
    });
  };
  tick();
  std::thread runner([&] { context.run(); });
  std::printf("%s, %d children, context run by another thread: ", name, n);
  std::fflush(stdout);
  try {
    run_v2<Launcher>(n, context);
  } catch (const std::exception& e) {
    std::printf("threw: %s; ", e.what());
  }
  const long before = ticks.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long after = ticks.load();
  std::printf("done; the timer ticked %ld times in the 100 ms after (expected ~%d)\n",
              after - before, 100 * 1000 / 200);
  std::fflush(stdout);
  asio::post(context, [&] { timer.cancel(); });
  work.reset();
  runner.join();
}

}  // namespace

int main(int argc, char** argv) {
  // 1024 read ends and v2's 1024 pidfds at once: more than the usual soft limit.
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);

  if (argc > 1 && std::string_view(argv[1]) == "experiments") {
    closed_fd_below_reactor();
    with_running_context<bp::posix::vfork_launcher>("vfork_launcher", 1000);
    with_running_context<bp::posix::default_launcher>("default_launcher", 1000);
    return 0;
  }
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  asio::io_context context;  // not run: v2's processes are only waited for synchronously
  // The reactor now, while every fd below its own is in use and stays so: otherwise (c) fails
  // at once (see closed_fd_below_reactor).
  asio::use_service<asio::detail::reactor>(context);
  std::printf("%d rounds; medians in ms; ratios of start and total time\n", rounds);
  std::printf("%-12s %5s  %-22s %9s %9s   %11s   %11s\n", "host", "N", "contender", "start",
              "total", "vs (a)", "vs (d)");
  measure("small", rounds, context);
  constexpr std::size_t gib = std::size_t{1} << 30;
  const std::unique_ptr<char[]> resident(new char[gib]);
  std::memset(resident.get(), 1, gib);  // every page touched: resident, in the page tables
  measure("1 GiB", rounds, context);
  return resident[gib / 2] == 1 ? 0 : 1;
}
