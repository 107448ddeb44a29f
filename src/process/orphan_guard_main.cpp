// pipemux-guard: the orphan guard's process (orphan_guard.hpp), which the library starts once
// per run.
//
//   pipemux-guard 1 CAPACITY [CGROUP_NAME]
//
// fd 3 is the socket from the supervisor: native ints, a process group to kill should the
// supervisor die, or its negation when that group is done with. EOF (the supervisor exited or
// was killed) is the cue: SIGKILL to the groups still registered, then, with CGROUP_NAME (fd 4
// its directory, fd 5 its parent's), teardown_run_cgroup().
// It starts with every signal blocked and keeps them so: only SIGKILL ends it early.
#include "process/run_cgroup.hpp"

#include <sys/prctl.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  // The name ps shows, even when started from a file of another name.
  ::prctl(PR_SET_NAME, "pipemux-guard");
  if (argc < 3 || argc > 4 || std::strcmp(argv[1], "1") != 0) return 2;  // another protocol
  char* end = nullptr;
  const unsigned long long capacity = std::strtoull(argv[2], &end, 10);
  if (*argv[2] == '\0' || *end != '\0' || capacity > 1'000'000) return 2;
  const char* cgroup_name = argc == 4 ? argv[3] : nullptr;

  std::vector<int> groups;
  groups.reserve(capacity);
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
      if (r > 0 && groups.size() < capacity) {
        groups.push_back(r);
      } else if (r < 0) {
        for (auto& group : groups)
          if (group == -r) {
            group = groups.back();
            groups.pop_back();
            break;
          }
      }
    }
    const std::size_t rest = have - whole * sizeof(int);
    std::memmove(bytes, bytes + whole * sizeof(int), rest);
    have = rest;
  }
  for (int group : groups) ::kill(-group, SIGKILL);
  if (cgroup_name != nullptr) pipemux::detail::teardown_run_cgroup(5, cgroup_name, 4);
  return 0;
}
