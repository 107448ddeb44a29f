// Processes that escape their child's process group or session (setsid, set -m, daemons) come
// back to pipemux, a child subreaper, and are reaped, named and stopped with the rest; as a
// container's PID 1 it reaps every orphan, leaving no zombie.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::none_left;
using test::pipemux_exe;
using test::run_command;

// Sends `sig` to pipemux once its output holds `ready`.
test::command_options signal_when_said(int sig, const std::string& ready) {
  return test::signal_when(
      sig, [ready](const std::string& out) { return out.find(ready) != std::string::npos; }, 30s);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Escape, AGrandchildInItsOwnSessionIsStoppedAndNamedOnSigterm) {
  // setsid -w: the sleep runs in a session of its own, out of reach of the child's group.
  const auto result = run_command({pipemux_exe(), "--stop-grace", "0.5", "--", "setsid", "-w", "sh",
                                   "-c", "echo up; exec " + test::long_sleep()},
                                  signal_when_said(SIGTERM, "out | up"));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(contains(result.out, "* orphaned descendants still running: sleep[")) << result.out;
  EXPECT_TRUE(std::regex_search(result.out, std::regex(R"(\* reaped sleep\[\d+\], an orphaned )"
                                                       R"(descendant: killed by SIGTERM)")))
      << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

TEST(Escape, AJobInAnotherProcessGroupIsStoppedOnSigterm) {
  // bash's job control puts the background job in a group of its own.
  const auto result = run_command({pipemux_exe(), "--stop-grace", "0.5", "--", "bash", "-c",
                                   "set -m; " + test::long_sleep() + " & echo up; wait"},
                                  signal_when_said(SIGTERM, "out | up"));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(contains(result.out, "* orphaned descendants still running: sleep[")) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

TEST(Escape, ADaemonLeftBehindByAChildThatExitedIsStoppedAtTheEnd) {
  // A double fork with setsid, as daemons do; the child itself exits 0 at once.
  const std::string script =
      "import os, time\n"
      "if os.fork() == 0:\n"
      "    os.setsid()\n"
      "    if os.fork() == 0:\n"
      "        os.execvp('sleep', ['sleep', '" +
      test::long_sleep().substr(6) +
      "'])\n"
      "    os._exit(0)\n"
      "print('daemonized', flush=True)\n";
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command(
      {pipemux_exe(), "--stop-grace", "0.5", "--", "python3", "-c", script}, {.timeout = 30s});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "out | daemonized")) << result.out;
  EXPECT_TRUE(contains(result.out, "* orphaned descendants still running: sleep[")) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

// Runs pipemux as PID 1 of a new PID namespace (as a container's entrypoint).
std::vector<std::string> as_pid_1(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"unshare", "--pid", "--fork", "--mount-proc"});
  return argv;
}

bool can_make_pid_namespaces() {
  return run_command({"unshare", "--pid", "--fork", "--mount-proc", "true"}).exit_code == 0;
}

TEST(Escape, AsPid1EveryOrphanIsReapedAndNoZombieIsLeft) {
  if (!can_make_pid_namespaces()) GTEST_SKIP() << "no PID namespaces here (not root?)";
  // 100 daemonizing grandchildren; then the child counts the zombies in its namespace.
  const std::string script =
      "i=0; while [ $i -lt 100 ]; do (sleep 0.1 &); i=$((i+1)); done; sleep 1; z=0; "
      "for p in /proc/[0-9]*; do grep -q '^State:.*Z' $p/status 2>/dev/null && z=$((z+1)); "
      "done; echo zombies=$z";
  const auto result =
      run_command(as_pid_1({pipemux_exe(), "--", "sh", "-c", script}), {.timeout = 30s});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "out | zombies=0\n")) << result.out;
  std::size_t reaped = 0;
  for (const auto& line : lines_of(result.out))
    reaped += contains(line, "* reaped sleep[") && contains(line, "exited with code 0");
  EXPECT_EQ(reaped, 100u);
}

TEST(Escape, AsPid1SigtermDrainsAndExits143) {
  if (!can_make_pid_namespaces()) GTEST_SKIP() << "no PID namespaces here (not root?)";
  // The signal comes from outside the namespace, to the namespace's PID 1 (unshare's child).
  const auto result = run_command(
      as_pid_1({pipemux_exe(), "--", "sh", "-c", "echo up; exec " + test::long_sleep()}),
      {.timeout = 30s, .watch = [](int unshare_pid, const std::string& out) {
         if (!contains(out, "out | up")) return false;
         for (int pid_1 : test::children_of(unshare_pid)) ::kill(pid_1, SIGTERM);
         return true;
       }});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(contains(result.out, "received SIGTERM: stopping the children")) << result.out;
  EXPECT_TRUE(contains(result.out, "* killed by SIGTERM after")) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

}  // namespace
}  // namespace pipemux
