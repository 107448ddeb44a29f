// How long starting the orphan guard takes, in a small host and in one with 1 GiB resident
// (a fork copies the page tables of all of it), next to starting a child (/bin/true).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include "orphan_guard.hpp"
#include "spawn.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double median_ms(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double guard_start_ms(int rounds) {
  std::vector<double> times;
  for (int i = 0; i < rounds; ++i) {
    pipemux::detail::orphan_guard guard;
    const auto start = clock_type::now();
    const bool started = guard.start(4);
    const auto took = clock_type::now() - start;
    if (!started) {
      std::fprintf(stderr, "the guard did not start\n");
      std::exit(1);
    }
    times.push_back(std::chrono::duration<double, std::milli>(took).count());
    guard.finish();
  }
  return median_ms(times);
}

double child_spawn_ms(int rounds) {
  std::vector<double> times;
  pipemux::detail::launch_request request;
  request.executable = "/bin/true";
  request.argv = {"true"};
  for (int i = 0; i < rounds; ++i) {
    std::error_code ec;
    const auto start = clock_type::now();
    const auto child = pipemux::detail::spawn(request, ec);
    const auto took = clock_type::now() - start;
    if (ec) {
      std::fprintf(stderr, "cannot start /bin/true: %s\n", ec.message().c_str());
      std::exit(1);
    }
    times.push_back(std::chrono::duration<double, std::milli>(took).count());
    ::close(child.pidfd);
    ::waitpid(child.pid, nullptr, 0);
  }
  return median_ms(times);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 30;
  std::printf("guard start, small host: %.2f ms (median of %d)\n", guard_start_ms(rounds), rounds);
  std::printf("child spawn, small host: %.2f ms\n", child_spawn_ms(rounds));
  constexpr std::size_t gib = std::size_t{1} << 30;
  const std::unique_ptr<char[]> resident(new char[gib]);
  std::memset(resident.get(), 1, gib);  // every page touched: resident, in the page tables
  std::printf("guard start, 1 GiB resident: %.2f ms\n", guard_start_ms(rounds));
  std::printf("child spawn, 1 GiB resident: %.2f ms\n", child_spawn_ms(rounds));
  return resident[gib / 2] == 1 ? 0 : 1;
}
