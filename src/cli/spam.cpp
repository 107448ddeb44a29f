#include "spam.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace pipemux::cli {
namespace {

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void sleep_for_seconds(double seconds) {
  if (seconds <= 0) return;
  timespec ts{
      static_cast<time_t>(seconds),
      static_cast<long>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e9)};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::string self_executable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string("pipemux");
}

// --record: how many messages were fully written, saved from a signal handler too.
std::atomic<std::uint64_t> messages_written{0};
int record_fd = -1;
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "read in a signal handler");

// Async-signal-safe: no formatting library, one pwrite. The count only grows, so writing
// it over an earlier one at offset 0 leaves no stale digits.
void save_record() noexcept {
  char digits[24];
  char* const end = digits + sizeof digits;
  char* p = end;
  std::uint64_t value = messages_written.load();
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  [[maybe_unused]] const ssize_t n = ::pwrite(record_fd, p, static_cast<std::size_t>(end - p), 0);
}

extern "C" void record_and_die(int sig) {
  save_record();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

int run_spam(const spam_options& options, long long index, const std::string& record_prefix) {
  if (index < 0) {
    const char* from_env = std::getenv("PIPEMUX_CHILD_INDEX");
    index = from_env != nullptr ? std::atoll(from_env) : 0;
  }
  if (!record_prefix.empty()) {
    const std::string path = record_prefix + std::to_string(index);
    record_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (record_fd < 0) {
      std::fprintf(stderr, "pipemux spam: cannot open '%s': %s\n", path.c_str(),
                   std::strerror(errno));
      return 2;
    }
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, record_and_die);
  }
  fmt::memory_buffer line;
  for (std::uint64_t n = 0; options.count == 0 || n < options.count; ++n) {
    line.clear();
    if (options.sequence)
      fmt::format_to(std::back_inserter(line), "Spam {} child={} seq={}", n % 5, index, n);
    else
      fmt::format_to(std::back_inserter(line), "Spam {}", n % 5);
    // Padding cycles through the alphabet so that a torn or shifted line cannot go unnoticed.
    for (std::size_t i = 0; line.size() < options.payload; ++i)
      line.push_back(i == 0 ? ' ' : static_cast<char>('a' + i % 26));
    line.push_back('\n');
    if (!write_all(STDOUT_FILENO, line.data(), line.size())) return 1;
    messages_written.fetch_add(1);
    sleep_for_seconds(options.interval);
  }
  if (record_fd >= 0) save_record();
  return 0;
}

std::vector<std::string> spam_argv(const spam_options& options) {
  std::vector<std::string> argv = {self_executable(), "spam",
                                   "--count",         std::to_string(options.count),
                                   "--interval",      fmt::format("{}", options.interval),
                                   "--payload",       std::to_string(options.payload)};
  if (options.sequence) argv.emplace_back("--sequence");
  return argv;
}

}  // namespace pipemux::cli
