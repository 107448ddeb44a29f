// The reader under the supervisor's drain check: bytes leave a pipe only in the handler that
// delivers them, and an end not read yet counts as input. A dead child's pipe is abandoned
// when it has no input for a whole grace period, so a byte in flight anywhere else (read by
// the reactor, its handler still queued) would be dropped with it.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "process/pipe_reader.hpp"

namespace pipemux::detail {
namespace {

struct test_pipe {
  test_pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~test_pipe() {
    if (write_end >= 0) ::close(write_end);
  }
  void write(const std::string& bytes) const {
    ASSERT_EQ(::write(write_end, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void close_write_end() {
    ::close(write_end);
    write_end = -1;
  }
  int read_end;
  int write_end;
};

// Runs `io` until `done` holds or 10 s have passed: a delivery is waited for, not given a
// fixed 200 ms that a loaded machine may not run the loop in.
void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    if (io.run_one_for(std::chrono::milliseconds(10)) == 0 && io.stopped())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // out of work: nothing comes
  }
}

TEST(PipeReader, BytesStayInThePipeUntilTheHandlerThatDeliversThem) {
  boost::asio::io_context io;
  test_pipe pipe;
  auto reader = std::make_shared<pipe_reader>(io.get_executor(), pipe.read_end, 4096);
  std::string delivered;
  int ends = 0;
  std::vector<bool> input_seen_before_delivery;
  reader->pause();
  reader->start([&](log_clock::time_point, std::string_view data) { delivered += data; },
                [&](std::error_code ec) {
                  EXPECT_FALSE(ec) << ec.message();
                  ++ends;
                });
  pipe.write("first line\n");
  boost::asio::post(io, [&] {
    reader->resume();
    // The read is queued, not done: the bytes are still in the pipe for anyone who checks.
    input_seen_before_delivery.push_back(reader->has_input());
    EXPECT_EQ(delivered, "");
  });
  run_until(io, [&] { return delivered == "first line\n"; });
  EXPECT_EQ(delivered, "first line\n");
  EXPECT_FALSE(reader->has_input()) << "read, and the writer is still open";

  // The same while the reader already waits for the pipe to become readable.
  io.restart();
  boost::asio::post(io, [&] {
    pipe.write("second\n");
    pipe.close_write_end();
    input_seen_before_delivery.push_back(reader->has_input());
  });
  run_until(io, [&] { return ends == 1; });
  EXPECT_EQ(delivered, "first line\nsecond\n");
  EXPECT_EQ(ends, 1);
  EXPECT_EQ(input_seen_before_delivery, (std::vector<bool>{true, true}));
}

TEST(PipeReader, AnEndNotReadYetIsInputAndASilentOpenPipeIsNot) {
  boost::asio::io_context io;
  test_pipe pipe;
  auto reader = std::make_shared<pipe_reader>(io.get_executor(), pipe.read_end, 4096);
  int ends = 0;
  reader->pause();
  reader->start([](log_clock::time_point, std::string_view) { ADD_FAILURE() << "no data"; },
                [&](std::error_code ec) {
                  EXPECT_FALSE(ec) << ec.message();
                  ++ends;
                });
  EXPECT_FALSE(reader->has_input()) << "empty, and its writer is alive: silent";
  pipe.close_write_end();
  EXPECT_TRUE(reader->has_input()) << "its end is there to be read";
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ends, 0) << "paused: not even the end is read";
  io.restart();
  reader->resume();
  run_until(io, [&] { return ends == 1; });
  EXPECT_EQ(ends, 1);
  EXPECT_FALSE(reader->is_open());
  EXPECT_FALSE(reader->has_input());
}

TEST(PipeReader, CloseWhileWaitingCallsNoHandlerAgain) {
  boost::asio::io_context io;
  test_pipe pipe;
  auto reader = std::make_shared<pipe_reader>(io.get_executor(), pipe.read_end, 4096);
  int calls = 0;
  reader->start([&](log_clock::time_point, std::string_view) { ++calls; },
                [&](std::error_code) { ++calls; });
  io.run_for(std::chrono::milliseconds(50));  // now waiting for the pipe to become readable
  pipe.write("never delivered\n");
  reader->close();
  reader.reset();  // the pending wait keeps it alive until its handler has run
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(calls, 0);
}

TEST(PipeReader, SmallReadsComeSeveralPerTurnAndTwoFullPipesTakeTurns) {
  // Two pipes hold 64 KiB each, read 4 KiB at a time: a turn is several reads (not one round
  // through the scheduler per read), and never so many that the other pipe waits for all.
  boost::asio::io_context io;
  test_pipe a, b;
  const std::string block(65536, 'x');
  a.write(block);
  b.write(block);
  a.close_write_end();
  b.close_write_end();
  std::string order;  // one letter per read
  const auto start = [&](const std::shared_ptr<pipe_reader>& reader, char name) {
    reader->start([&order, name](log_clock::time_point, std::string_view) { order += name; },
                  [](std::error_code) {});
  };
  auto reader_a = std::make_shared<pipe_reader>(io.get_executor(), a.read_end, 4096);
  auto reader_b = std::make_shared<pipe_reader>(io.get_executor(), b.read_end, 4096);
  start(reader_a, 'a');
  start(reader_b, 'b');
  io.run();
  ASSERT_EQ(order.size(), 32U) << order;
  EXPECT_EQ(std::count(order.begin(), order.end(), 'a'), 16);
  std::size_t longest_run = 0, run = 0, turns = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    run = i > 0 && order[i] == order[i - 1] ? run + 1 : 1;
    if (run == 1) ++turns;
    longest_run = std::max(longest_run, run);
  }
  EXPECT_GT(longest_run, 1U) << order;  // several reads in one turn
  EXPECT_LE(longest_run, 8U) << order;  // but a bounded turn
  EXPECT_GE(turns, 4U) << order;        // the pipes took turns
}

}  // namespace
}  // namespace pipemux::detail
