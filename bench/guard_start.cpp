// How long starting the orphan guard takes, in a small host and in one with 1 GiB resident
// (a fork copies the page tables of all of it), next to starting a child (/bin/true). Wall time
// (what an io thread waits) and this thread's CPU time: the wall time of a start that waits for
// the new process's exec (vfork) includes waiting for a CPU on a loaded machine.
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include "process/orphan_guard.hpp"
#include "process/spawn.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct sample {
  double wall_ms;
  double cpu_ms;
};

double thread_cpu_ms() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

// Medians of each.
sample median(std::vector<sample> samples) {
  std::vector<double> wall, cpu;
  for (const auto& s : samples) {
    wall.push_back(s.wall_ms);
    cpu.push_back(s.cpu_ms);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

// Calls `start` and times it.
template <class Fn>
sample timed(Fn start) {
  const double cpu = thread_cpu_ms();
  const auto wall = clock_type::now();
  start();
  return {std::chrono::duration<double, std::milli>(clock_type::now() - wall).count(),
          thread_cpu_ms() - cpu};
}

sample guard_start(int rounds) {
  std::vector<sample> samples;
  for (int i = 0; i < rounds; ++i) {
    pipemux::detail::orphan_guard guard;
    bool started = false;
    samples.push_back(timed([&] { started = guard.start(4); }));
    if (!started) {
      std::fprintf(stderr, "the guard did not start\n");
      std::exit(1);
    }
    guard.finish();
  }
  return median(samples);
}

sample child_spawn(int rounds) {
  std::vector<sample> samples;
  pipemux::detail::launch_request request;
  request.executable = "/bin/true";
  request.argv = {"true"};
  for (int i = 0; i < rounds; ++i) {
    std::error_code ec;
    pipemux::detail::spawned_child child;
    samples.push_back(timed([&] { child = pipemux::detail::spawn(request, ec); }));
    if (ec) {
      std::fprintf(stderr, "cannot start /bin/true: %s\n", ec.message().c_str());
      std::exit(1);
    }
    ::close(child.pidfd);
    ::waitpid(child.pid, nullptr, 0);
  }
  return median(samples);
}

void print(const char* what, sample s) {
  std::printf("%-30s %6.2f ms wall, %6.2f ms CPU (medians)\n", what, s.wall_ms, s.cpu_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 30;
  std::printf("%d rounds each\n", rounds);
  print("guard start, small host:", guard_start(rounds));
  print("child spawn, small host:", child_spawn(rounds));
  constexpr std::size_t gib = std::size_t{1} << 30;
  const std::unique_ptr<char[]> resident(new char[gib]);
  std::memset(resident.get(), 1, gib);  // every page touched: resident, in the page tables
  print("guard start, 1 GiB resident:", guard_start(rounds));
  print("child spawn, 1 GiB resident:", child_spawn(rounds));
  return resident[gib / 2] == 1 ? 0 : 1;
}
