// systemd's notify protocol (Type=notify) through a datagram socket of the test's own, as
// systemd binds one for a service: READY=1 once every child has started, STATUS= lines,
// WATCHDOG=1 pings, STOPPING=1 at the end or on a signal, and nothing left for the children.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log_line.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using test::pipemux_exe;
using test::run_command;

// A unix datagram socket at `address` (a path, or "@name" in the abstract namespace), read
// by a thread of its own as systemd reads its notify socket: the socket's queue is short
// (net.unix.max_dgram_qlen), and pipemux never waits for room in it.
class notify_socket {
 public:
  explicit notify_socket(std::string address) : address_(std::move(address)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, address_.data(), address_.size());
    if (address_[0] == '@') a.sun_path[0] = '\0';
    if (address_[0] == '/') ::unlink(address_.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&a),
                    static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size())) == 0;
    const timeval poll_every{.tv_sec = 0, .tv_usec = 20000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &poll_every, sizeof poll_every);
    reader_ = std::thread([this] {
      char buffer[4096];
      while (!done_) {
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0) continue;
        const std::lock_guard lock(mutex_);
        received_.emplace_back(buffer, static_cast<std::size_t>(n));
      }
    });
  }
  ~notify_socket() {
    done_ = true;
    reader_.join();
    ::close(fd_);
    if (address_[0] == '/') ::unlink(address_.c_str());
  }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  bool bound() const { return bound_; }
  const std::string& address() const { return address_; }
  /// Every datagram so far, once the reader has seen the socket empty for a moment.
  std::vector<std::string> received() const {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  std::string address_;
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> done_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> received_;
  std::thread reader_;
};

// The last message but the watchdog's pings, which go on until pipemux ends.
std::string last_but_pings(const std::vector<std::string>& all) {
  const auto last = std::find_if(
      all.rbegin(), all.rend(), [](const std::string& message) { return message != "WATCHDOG=1"; });
  return last != all.rend() ? *last : std::string();
}

std::size_t count(const std::vector<std::string>& all, const std::string& message) {
  return static_cast<std::size_t>(std::count(all.begin(), all.end(), message));
}

TEST(SystemdNotify, ReadyOnceEveryChildStartedPingsWhileRunningAndStoppingAtTheEnd) {
  const notify_socket systemd(test::temp_path("notify.sock"));
  ASSERT_TRUE(systemd.bound());
  const auto result = run_command({"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.address(),
                                   "WATCHDOG_USEC=100000", pipemux_exe(), "-n", "2",
                                   "echo ${NOTIFY_SOCKET-none} ${WATCHDOG_USEC-none}; sleep 0.6"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // The children do not talk to systemd in pipemux's name.
  EXPECT_NE(result.out.find("out | none none\n"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find(systemd.address()), std::string::npos) << result.out;

  const auto all = systemd.received();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(count(all, "READY=1\nSTATUS=2 of 2 children running, 0 ended"), 1U)
      << testing::PrintToString(all);
  const auto ready = std::find(all.begin(), all.end(),
                               std::string("READY=1\nSTATUS=2 of 2 children running, 0 ended"));
  const auto first_end =
      std::find(all.begin(), all.end(), std::string("STATUS=1 of 2 children running, 1 ended"));
  EXPECT_LT(ready, first_end) << testing::PrintToString(all);
  EXPECT_EQ(count(all, "STATUS=0 of 2 children running, 2 ended"), 1U);
  // Every 50 ms (half of WATCHDOG_USEC) for 0.6 s: several, allowing for a busy machine.
  EXPECT_GE(count(all, "WATCHDOG=1"), 4U) << testing::PrintToString(all);
  EXPECT_EQ(last_but_pings(all), "STOPPING=1\nSTATUS=stopping: every child has ended");
}

TEST(SystemdNotify, ASignalSaysStoppingAndAnAbstractSocketWorks) {
  const notify_socket systemd("@pipemux-notify-test-" + std::to_string(::getpid()));
  ASSERT_TRUE(systemd.bound());
  const auto result = run_command({"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.address(),
                                   pipemux_exe(), "echo up; exec sleep 30"},
                                  test::signal_when(SIGTERM, [](const std::string& out) {
                                    return out.find("out | up\n") != std::string::npos;
                                  }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  const auto all = systemd.received();
  EXPECT_EQ(count(all, "READY=1\nSTATUS=1 of 1 children running, 0 ended"), 1U)
      << testing::PrintToString(all);
  EXPECT_EQ(count(all, "STOPPING=1\nSTATUS=stopping: received SIGTERM"), 1U)
      << testing::PrintToString(all);
  EXPECT_EQ(count(all, "WATCHDOG=1"), 0U);  // no WATCHDOG_USEC, no pings
}

TEST(SystemdNotify, TheWatchdogOfAnotherProcessIsNotPinged) {
  const notify_socket systemd(test::temp_path("notify-other.sock"));
  ASSERT_TRUE(systemd.bound());
  const auto result =
      run_command({"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.address(), "WATCHDOG_USEC=100000",
                   "WATCHDOG_PID=1", pipemux_exe(), "sleep 0.3"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto all = systemd.received();
  EXPECT_EQ(count(all, "WATCHDOG=1"), 0U) << testing::PrintToString(all);
  EXPECT_EQ(count(all, "READY=1\nSTATUS=1 of 1 children running, 0 ended"), 1U);
}

// WATCHDOG_USEC=1: pings at the shortest interval, not a loop that spins and never ends.
TEST(SystemdNotify, ATinyWatchdogIntervalNeitherSpinsNorKeepsTheRunGoing) {
  const notify_socket systemd(test::temp_path("notify-tiny.sock"));
  ASSERT_TRUE(systemd.bound());
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_command({"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.address(),
                                   "WATCHDOG_USEC=1", pipemux_exe(), "sleep 0.3"},
                                  {.timeout = std::chrono::seconds(20)});
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  const auto all = systemd.received();
  EXPECT_EQ(count(all, "READY=1\nSTATUS=1 of 1 children running, 0 ended"), 1U);
  EXPECT_LT(count(all, "WATCHDOG=1"), 100U);  // 10 ms apart at the most: ~30 in 0.3 s
  EXPECT_EQ(last_but_pings(all), "STOPPING=1\nSTATUS=stopping: every child has ended");
}

// --max-processes 1 with two children that never end: ready once the one allowed has started.
TEST(SystemdNotify, ReadyComesOnceTheChildrenAllowedToStartHaveStarted) {
  const notify_socket systemd(test::temp_path("notify-max.sock"));
  ASSERT_TRUE(systemd.bound());
  const auto result =
      run_command({"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.address(), pipemux_exe(),
                   "--max-processes", "1", "echo up; exec sleep 30", "exec sleep 30"},
                  test::signal_when(SIGTERM, [](const std::string& out) {
                    return out.find("out | up\n") != std::string::npos;
                  }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  const auto all = systemd.received();
  EXPECT_EQ(count(all, "READY=1\nSTATUS=1 of 2 children running, 0 ended"), 1U)
      << testing::PrintToString(all);
  EXPECT_EQ(last_but_pings(all), "STOPPING=1\nSTATUS=stopping: received SIGTERM")
      << testing::PrintToString(all);
}

// A program with a ready probe: READY=1 waits for it, not for its start. "quick" has ended
// by then, which the STATUS of READY=1 shows (at its start it would say 2 running).
TEST(SystemdNotify, ReadyWaitsForAReadyProbe) {
  const notify_socket systemd(test::temp_path("notify-probe.sock"));
  ASSERT_TRUE(systemd.bound());
  const std::string config = test::temp_path("notify-probe.toml");
  std::ofstream(config) << "[[program]]\nname = \"slow\"\n"
                           "command = \"sleep 0.5; echo up; exec sleep 30\"\n"
                           "[program.ready]\nlog = \"^up$\"\n"
                           "[[program]]\nname = \"quick\"\ncommand = \"true\"\n";
  const auto result = run_command(
      {"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.address(), pipemux_exe(), "-c", config},
      test::signal_when(SIGTERM, [](const std::string& out) {
        return out.find("- * ready after") != std::string::npos;
      }));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.out;
  const auto all = systemd.received();
  EXPECT_EQ(count(all, "READY=1\nSTATUS=1 of 2 children running, 1 ended"), 1U)
      << testing::PrintToString(all) << result.out;
  EXPECT_EQ(std::count_if(all.begin(), all.end(),
                          [](const std::string& m) { return m.rfind("READY=1", 0) == 0; }),
            1);
}

}  // namespace
}  // namespace pipemux
