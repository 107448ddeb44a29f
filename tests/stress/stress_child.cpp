// The stress run's child: writes its deterministic stream in random pieces with random pauses,
// and (by its index) runs to the end, exits early or kills itself with SIGKILL at a random
// moment, possibly mid-line. After each write it records how many bytes it has written.
//
//   pipemux_stress_child LINES MAX_LINE RECORD_PREFIX     (index from $PIPEMUX_CHILD_INDEX)
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <string>

#include "stress_stream.hpp"

using namespace pipemux::stress;

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::uint64_t lines = std::strtoull(argv[1], nullptr, 10);
  const std::size_t max_line = std::strtoull(argv[2], nullptr, 10);
  const char* index_text = std::getenv("PIPEMUX_CHILD_INDEX");
  const std::uint64_t index = index_text != nullptr ? std::strtoull(index_text, nullptr, 10) : 0;
  const std::string record_path = std::string(argv[3]) + std::to_string(index);
  const int record = ::open(record_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (record < 0) return 2;

  stream out(index, max_line);
  rng choices(index + 1000003);
  const fate how = fate_of(index);
  const std::uint64_t stop_after_writes = 1 + choices.below(lines);  // every line takes >= 1 write
  std::uint64_t written = 0, writes = 0;
  for (std::uint64_t n = 0; n < lines; ++n) {
    const std::string line = out.next_line();
    std::size_t from = 0;
    while (from < line.size()) {  // in random pieces, so that an end can fall mid-line
      const std::size_t piece = 1 + choices.below(line.size() - from);
      const ssize_t n_written = ::write(1, line.data() + from, piece);
      if (n_written <= 0) return 3;
      from += static_cast<std::size_t>(n_written);
      written += static_cast<std::uint64_t>(n_written);
      const std::string count = std::to_string(written);
      if (::pwrite(record, count.data(), count.size(), 0) < 0) return 3;
      if (++writes == stop_after_writes && how == fate::killed) ::kill(::getpid(), SIGKILL);
      if (writes == stop_after_writes && how == fate::exits_early) return 7;
      if (choices.below(8) == 0) {
        const timespec pause{0, static_cast<long>(choices.below(2'000'000))};
        ::nanosleep(&pause, nullptr);
      }
    }
  }
  return 0;
}
