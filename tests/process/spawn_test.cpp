// Tests for src/spawn.hpp: what a child gets between clone and exec, through real children.
// (The supervisor's tests cover the rest: fds, groups, PDEATHSIG, exec errors found before.)
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <string>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <thread>

#include "process/child_process.hpp"
#include "process/run_cgroup.hpp"
#include "process/spawn.hpp"
#include "run_command.hpp"

namespace pipemux::detail {
namespace {

std::string read_to_end(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

launch_request shell(const std::string& script) {
  launch_request request;
  request.executable = "/bin/sh";
  request.argv = {"sh", "-c", script};
  request.environment = {"PATH=/usr/bin:/bin"};
  return request;
}

int exit_code_of(int pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(Spawn, PipesHeldAtTheChildsOwnFdNumbersStillReachTheRightStreams) {
  // A host that closed its stdin gets pipes at 0, 1 or 2. Here the child's stdout is our fd 0
  // and its stderr our fd 1: they must be moved aside before /dev/null becomes fd 0.
  const int saved_in = ::dup(0), saved_out = ::dup(1);
  ASSERT_GE(saved_in, 3);
  ASSERT_GE(saved_out, 3);
  int out[2], err[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  ASSERT_EQ(::dup3(out[1], 0, O_CLOEXEC), 0);
  ASSERT_EQ(::dup3(err[1], 1, O_CLOEXEC), 1);
  ::close(out[1]);
  ::close(err[1]);
  launch_request request = shell("readlink /proc/self/fd/0; echo to-err >&2");
  request.stdout_fd = 0;
  request.stderr_fd = 1;
  std::error_code ec;
  const spawned_child child = spawn(request, ec);
  ::dup2(saved_in, 0);  // our own fds back, which also closes our copies of the write ends
  ::dup2(saved_out, 1);
  ::close(saved_in);
  ::close(saved_out);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_GT(child.pid, 0);
  EXPECT_EQ(read_to_end(out[0]), "/dev/null\n");
  EXPECT_EQ(read_to_end(err[0]), "to-err\n");
  EXPECT_EQ(exit_code_of(child.pid), 0);
  ::close(child.pidfd);
  ::close(out[0]);
  ::close(err[0]);
}

TEST(Spawn, AnExecThatFailsInTheChildIsItsErrnoAndLeavesNoZombie) {
  // An ELF header with nothing behind it passes every check made before the spawn; only the
  // kernel refuses it, in the child.
  const std::string broken = test::temp_path("pipemux_broken_elf");
  std::ofstream(broken) << "\x7f"
                           "ELF"
                        << std::string(60, '\x01');
  ASSERT_EQ(::chmod(broken.c_str(), 0755), 0);
  launch_request request;
  request.executable = broken;
  request.argv = {broken};
  std::error_code ec;
  const spawned_child child = spawn(request, ec);
  EXPECT_EQ(child.pid, -1);
  EXPECT_EQ(child.pidfd, -1);
  EXPECT_EQ(ec, std::errc::executable_format_error) << ec.message();
  EXPECT_TRUE(test::children_of(::getpid()).empty()) << "the failed child was not reaped";
}

TEST(Spawn, AFailedChdirIsReportedAsSuch) {
  launch_request request = shell("echo never");
  request.working_directory = "/nonexistent/dir";
  std::error_code ec;
  const spawned_child child = spawn(request, ec);
  EXPECT_EQ(child.pid, -1);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory) << ec.message();
  EXPECT_TRUE(test::children_of(::getpid()).empty());
}

TEST(Spawn, TheChildStartsWithDefaultSignalsAnEmptyMaskAndAGroupOfItsOwn) {
  // Ignored and blocked here, as a CLI or a host may have them; none of it reaches the child.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_pipe {
  }, old_usr2{};
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  ::sigaction(SIGUSR2, &ignore, &old_usr2);
  sigset_t usr1, old_mask;
  ::sigemptyset(&usr1);
  ::sigaddset(&usr1, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  launch_request request =
      shell("grep -E '^Sig(Blk|Ign)' /proc/self/status; cut -d' ' -f5 /proc/$$/stat; echo $$");
  request.stdout_fd = out[1];
  std::error_code ec;
  const spawned_child child = spawn(request, ec);
  ::close(out[1]);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigaction(SIGUSR2, &old_usr2, nullptr);
  ASSERT_FALSE(ec) << ec.message();
  const std::string text = read_to_end(out[0]);
  ::close(out[0]);
  EXPECT_EQ(exit_code_of(child.pid), 0);
  ::close(child.pidfd);
  const std::string pid = std::to_string(child.pid);
  // The process group (field 5 of stat) is the child's own pid.
  EXPECT_EQ(text,
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n" + pid + "\n" + pid + "\n");
}

TEST(Spawn, ThePidfdIsTheChildsAndClosesOnExec) {
  std::error_code ec;
  const spawned_child child = spawn(shell("exit 7"), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(::fcntl(child.pidfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  std::ifstream fdinfo("/proc/self/fdinfo/" + std::to_string(child.pidfd));
  std::string line, pid_line;
  while (std::getline(fdinfo, line))
    if (line.rfind("Pid:", 0) == 0) pid_line = line;
  EXPECT_EQ(pid_line, "Pid:\t" + std::to_string(child.pid));
  EXPECT_EQ(exit_code_of(child.pid), 7);
  ::close(child.pidfd);
}

// A child is born in its cgroup (clone3's CLONE_INTO_CGROUP) or, the other way (the one for
// kernels without it), moves itself in before its exec: either way the program runs there from
// its first instruction. A group that is gone fails the spawn, with no child. The teardown
// removes every group made, one numbered past the children too (a scaled run).
TEST(Spawn, AChildStartsInItsCgroupEitherWayAndTheTeardownRemovesEveryGroup) {
  if (!test::can_make_cgroups()) GTEST_SKIP() << "no cgroup v2 to write here";
  std::string why;
  const auto group = run_cgroup::create(why);
  ASSERT_TRUE(group) << why;
  for (const bool at_birth : {true, false}) {
    const std::size_t index = at_birth ? 0 : 1500;
    std::error_code ec;
    const unique_fd directory = group->open_for(index, ec);
    ASSERT_FALSE(ec) << ec.message();
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    launch_request request = shell("grep ^0:: /proc/self/cgroup");
    request.stdout_fd = out[1];
    request.cgroup_fd = directory.get();
    request.cgroup_at_birth = at_birth;
    const spawned_child child = spawn(request, ec);
    ::close(out[1]);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(read_to_end(out[0]), "0::" + group->path() + "/" + std::to_string(index) + "\n")
        << "at birth: " << at_birth;
    EXPECT_EQ(exit_code_of(child.pid), 0);
    ::close(child.pidfd);
    ::close(out[0]);

    const unique_fd gone = group->open_for(7, ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(::unlinkat(group->directory_fd(), "7", AT_REMOVEDIR), 0);
    request.cgroup_fd = gone.get();
    const spawned_child refused = spawn(request, ec);
    EXPECT_TRUE(ec) << "at birth: " << at_birth;
    EXPECT_EQ(refused.pid, -1);
  }
  teardown_run_cgroup(group->parent_fd(), group->name(), group->directory_fd());
  EXPECT_NE(::faccessat(group->parent_fd(), group->name(), F_OK, 0), 0);
  EXPECT_EQ(errno, ENOENT);
}

// A child that has exited but whose end the loop has not handled yet (a zombie) counts as
// exited, without being reaped: a stop sent then is not what ended it, and the supervisor does
// not call it "stopped" (two children of a Procfile failing at once: the second's failure
// stayed hidden behind the first one's stop).
TEST(ChildProcess, AZombieNotYetReapedHasExitedAndIsLeftForTheWait) {
  boost::asio::io_context io;
  std::error_code ec;
  const auto child = child_process::launch(io.get_executor(), shell("exit 3"), ec);
  ASSERT_TRUE(child) << ec.message();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!child->exited() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(child->exited());
  EXPECT_FALSE(child->reaped());  // the loop did not run: nobody reaped it
  int status = -1;
  child->async_wait([&](std::error_code wait_error, int wait_status) {
    EXPECT_FALSE(wait_error);
    status = wait_status;
  });
  io.run();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;  // its status kept
  EXPECT_TRUE(child->exited());
}

TEST(ChildProcess, ARunningChildHasNotExited) {
  boost::asio::io_context io;
  std::error_code ec;
  const auto child = child_process::launch(io.get_executor(), shell("exec sleep 30"), ec);
  ASSERT_TRUE(child) << ec.message();
  EXPECT_FALSE(child->exited());
  EXPECT_TRUE(child->kill_and_reap(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  EXPECT_TRUE(child->exited());
}

}  // namespace
}  // namespace pipemux::detail
