// Tests for include/pipemux/fd_writer.hpp, through a real pipe read by the test.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "pipemux/fd_writer.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;

struct pipe_pair {
  pipe_pair() {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  }
  ~pipe_pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  std::string read_all() {
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    return text;
  }
  int fds[2] = {-1, -1};
};

std::string numbered_lines(int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += "line " + std::to_string(i) + "\n";
  return text;
}

// Waits for close()'s completion.
void close_and_wait(fd_writer& writer) {
  std::promise<void> done;
  writer.close([&] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(30s), std::future_status::ready);
}

TEST(FdWriter, WritesEverythingInOrderThenCloses) {
  pipe_pair p;
  const std::string text = numbered_lines(200000);
  std::string got;
  std::thread reader([&] { got = p.read_all(); });
  {
    fd_writer writer(p.fds[1], true);
    p.fds[1] = -1;  // the writer owns it now
    for (std::size_t at = 0; at < text.size(); at += 1000)
      writer.write(text.data() + at, std::min<std::size_t>(1000, text.size() - at));
    close_and_wait(writer);
    EXPECT_FALSE(writer.error());
  }
  reader.join();
  EXPECT_EQ(got, text);
}

TEST(FdWriter, ABacklogOverTheHighWaterIsReportedAndItsDrainToo) {
  // Nobody reads at first: the backlog passes 64 KiB ("over"), then the reader takes it all
  // and the backlog comes down ("not over"), in that order, once each.
  pipe_pair p;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<bool> reports;
  fd_writer writer(p.fds[1], false, {.high_water = 65536, .low_water = 16384});
  writer.on_backlog([&](bool over) {
    std::lock_guard lock(mutex);
    reports.push_back(over);
    changed.notify_all();
  });
  const std::string text = numbered_lines(50000);  // ~540 KB: more than the pipe and the mark
  writer.write(text.data(), text.size());
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return !reports.empty(); }));
    EXPECT_EQ(reports, std::vector<bool>{true});
  }
  EXPECT_TRUE(writer.backlogged());
  std::string got;
  std::thread reader([&] { got = p.read_all(); });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return reports.size() == 2; }));
    EXPECT_EQ(reports, (std::vector<bool>{true, false}));
  }
  EXPECT_FALSE(writer.backlogged());
  close_and_wait(writer);
  ::close(p.fds[1]);
  p.fds[1] = -1;
  reader.join();
  EXPECT_EQ(got, text);
}

TEST(FdWriter, AnAbandonedBacklogIsNoLongerABacklog) {
  // A consumer that paused on "over" must learn that nothing is queued any more.
  pipe_pair p;
  fd_writer writer(p.fds[1], true, {.high_water = 65536, .low_water = 16384});
  p.fds[1] = -1;  // owned: its thread may still be in write(2) after abandon()
  const std::string text = numbered_lines(50000);  // more than the pipe and the mark
  writer.write(text.data(), text.size());
  EXPECT_TRUE(writer.backlogged());
  EXPECT_GT(writer.abandon(), 65536U);
  EXPECT_FALSE(writer.backlogged());
  ::close(p.fds[0]);  // ends the writer's blocked write(2) with EPIPE
  p.fds[0] = -1;
}

std::size_t thread_count() {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)entry;
    ++count;
  }
  return count;
}

TEST(FdWriter, DevNullIsWrittenByTheCallerWithNoThread) {
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  const std::size_t threads_before = thread_count();
  fd_writer writer(null_fd, true, {.high_water = 1024, .low_water = 256});
  EXPECT_EQ(thread_count(), threads_before);
  bool reported = false;
  writer.on_backlog([&](bool) { reported = true; });
  const std::string text = numbered_lines(10000);  // far over the high water, never queued
  writer.write(text.data(), text.size());
  EXPECT_FALSE(reported);
  EXPECT_FALSE(writer.backlogged());
  const auto caller = std::this_thread::get_id();
  std::thread::id done_on;
  writer.close([&] { done_on = std::this_thread::get_id(); });
  EXPECT_EQ(done_on, caller) << "close() is done at once: nothing is left to write";
  EXPECT_FALSE(writer.error());
}

TEST(FdWriter, ANonBlockingFdIsWaitedForNotFailed) {
  pipe_pair p;
  ASSERT_EQ(::fcntl(p.fds[1], F_SETFL, O_NONBLOCK), 0);
  const std::string text = numbered_lines(100000);
  fd_writer writer(p.fds[1]);
  writer.write(text.data(), text.size());
  std::this_thread::sleep_for(100ms);  // the pipe is full: EAGAIN meanwhile
  std::string got;
  std::thread reader([&] { got = p.read_all(); });
  close_and_wait(writer);
  EXPECT_FALSE(writer.error()) << writer.error().message();
  ::close(p.fds[1]);
  p.fds[1] = -1;
  reader.join();
  EXPECT_EQ(got, text);
}

TEST(FdWriter, AReaderThatLeavesIsReportedEvenWithNothingToWrite) {
  pipe_pair p;
  std::promise<std::error_code> reported;
  fd_writer writer(p.fds[1]);
  writer.on_error([&](std::error_code ec) { reported.set_value(ec); });
  writer.write("hello\n", 6);
  ::close(p.fds[0]);
  p.fds[0] = -1;
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "not noticed while idle";
  EXPECT_EQ(future.get(), std::errc::broken_pipe);
}

TEST(FdWriter, AbandonDropsWhatIsQueuedAndSaysHowMuch) {
  pipe_pair p;
  // Owned: its thread may still be in write(2) after abandon(), and closes it when it ends
  // (closing the read end below ends that write with EPIPE).
  fd_writer writer(p.fds[1], true);
  p.fds[1] = -1;
  const std::string text = numbered_lines(100000);  // far more than the pipe holds
  writer.write(text.data(), text.size());
  std::this_thread::sleep_for(100ms);
  const std::size_t dropped = writer.abandon();
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(dropped, text.size());
  bool done = false;
  writer.close([&] { done = true; });
  EXPECT_TRUE(done) << "close after abandon completes at once";
}

}  // namespace
}  // namespace pipemux
