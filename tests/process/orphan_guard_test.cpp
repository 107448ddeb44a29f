// Tests for src/orphan_guard.hpp: the guard as a program of its own, and its protocol.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <climits>
#include <csignal>
#include <cstdlib>

#include <fstream>
#include <string>

#include "process/orphan_guard.hpp"
#include "process/spawn.hpp"
#include "run_command.hpp"

namespace pipemux::detail {
namespace {
using namespace std::chrono_literals;

std::string link_target(const std::string& link) {
  char target[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

std::string status_field(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with(field + ":")) return line.substr(field.size() + 1);
  return {};
}

TEST(OrphanGuard, IsAProgramOfItsOwnNotACopyOfTheHost) {
  // A fork of this process took 12-15 ms with 1 GiB resident (its page tables are copied) and
  // deadlocked under ASan; the guard is now started as children are, and execs pipemux-guard.
  orphan_guard guard;
  ASSERT_TRUE(guard.start(4)) << guard.loss_description();
  ASSERT_GT(guard.pid(), 0);
  const std::string proc = "/proc/" + std::to_string(guard.pid());
  char* expected = ::realpath(orphan_guard::find_executable().c_str(), nullptr);
  ASSERT_NE(expected, nullptr) << orphan_guard::find_executable();
  EXPECT_EQ(link_target(proc + "/exe"), expected);
  std::free(expected);
  EXPECT_NE(link_target(proc + "/exe"), link_target("/proc/self/exe"));
  EXPECT_EQ(test::read_file(proc + "/comm"), "pipemux-guard\n");
  // A group of its own (no Ctrl-C from the terminal), and SIGTERM blocked (a stop sent to
  // everything must not end it before its work).
  EXPECT_EQ(::getpgid(guard.pid()), guard.pid());
  const unsigned long long blocked = std::stoull(status_field(guard.pid(), "SigBlk"), nullptr, 16);
  EXPECT_NE(blocked & (1ULL << (SIGTERM - 1)), 0u) << std::hex << blocked;
  // Only the socket beyond stdio: nothing of ours (fds 3 and up are the protocol's). Looked at
  // once it waits in read(3, ...): the dynamic loader opens libraries on its way to main.
  EXPECT_TRUE(test::eventually(
      [&] { return test::read_file(proc + "/syscall").starts_with("0 0x3 "); }, 10s))
      << test::read_file(proc + "/syscall");
  EXPECT_TRUE(link_target(proc + "/fd/3").starts_with("socket:")) << link_target(proc + "/fd/3");
  EXPECT_EQ(link_target(proc + "/fd/4"), "");
  EXPECT_EQ(link_target(proc + "/fd/1"), "/dev/null");
  guard.finish();
  EXPECT_FALSE(guard.running());
  EXPECT_FALSE(guard.lost());
}

TEST(OrphanGuard, KillsTheGroupsStillRegisteredAtEof) {
  launch_request request;
  request.executable = "/bin/sleep";
  std::error_code ec;
  request.argv = {"sleep", "1000"};
  const spawned_child kept = spawn(request, ec);
  ASSERT_FALSE(ec) << ec.message();
  const spawned_child removed = spawn(request, ec);
  ASSERT_FALSE(ec) << ec.message();

  orphan_guard guard;
  ASSERT_TRUE(guard.start(4)) << guard.loss_description();
  EXPECT_TRUE(guard.add(kept.pid));
  EXPECT_TRUE(guard.add(removed.pid));
  EXPECT_TRUE(guard.remove(removed.pid));
  guard.finish();  // EOF: the guard kills what is registered, then exits
  int status = 0;
  EXPECT_TRUE(test::eventually([&] { return ::waitpid(kept.pid, &status, WNOHANG) == kept.pid; }))
      << "the registered group was not killed";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(::waitpid(removed.pid, &status, WNOHANG), 0) << "a removed group was killed";
  ::kill(removed.pid, SIGKILL);
  ::waitpid(removed.pid, nullptr, 0);
  ::close(kept.pidfd);
  ::close(removed.pidfd);
}

TEST(OrphanGuard, AMissingProgramIsNoGuardAndSaysWhy) {
  const test::scoped_environment_variable missing("PIPEMUX_GUARD_EXECUTABLE",
                                                  "/nonexistent/pipemux-guard");
  orphan_guard guard;
  EXPECT_FALSE(guard.start(1));
  EXPECT_FALSE(guard.running());
  EXPECT_TRUE(guard.lost());
  EXPECT_FALSE(guard.add(1234));
  EXPECT_NE(guard.loss_description().find("/nonexistent/pipemux-guard: No such file or directory"),
            std::string::npos)
      << guard.loss_description();
  guard.finish();  // nothing to wait for
}

}  // namespace
}  // namespace pipemux::detail
