// The reader under the supervisor's drain check: bytes leave a pipe only in the handler that
// delivers them, and an end not read yet counts as input. A dead child's pipe is abandoned
// when it has no input for a whole grace period, so a byte in flight anywhere else (read by
// the reactor, its handler still queued) would be dropped with it.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "pipe_reader.hpp"

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
  io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(delivered, "first line\n");
  EXPECT_FALSE(reader->has_input()) << "read, and the writer is still open";

  // The same while the reader already waits for the pipe to become readable.
  io.restart();
  boost::asio::post(io, [&] {
    pipe.write("second\n");
    pipe.close_write_end();
    input_seen_before_delivery.push_back(reader->has_input());
  });
  io.run_for(std::chrono::milliseconds(200));
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
  io.run_for(std::chrono::milliseconds(200));
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

}  // namespace
}  // namespace pipemux::detail
