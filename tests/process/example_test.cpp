// The examples, run as their users would: the service (examples/log_server.cpp) by a real TCP
// client, and the README's embedding example (examples/log_to_stdout.cpp) under `| head -1`.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;

constexpr const char* greeting = "pipemux_log_server: subscribed; ";

// Reads until the server closes; a slow client reads `chunk` bytes per `pause`. `subscribed`
// is called once the server's greeting has come: from then on it sends this client every line
// (a returned connect() only means the kernel took the connection, which the server's accept
// handler may not have seen yet).
std::string read_all_from(unsigned short port, std::size_t chunk = 4096,
                          std::chrono::milliseconds pause = 0ms,
                          const std::function<void()>& subscribed = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::string received;
  // A small receive buffer, so that a slow reader is felt by the server at once.
  const int small = 16384;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  bool greeted = false;
  std::vector<char> buf(chunk);
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
    received.append(buf.data(), static_cast<std::size_t>(n));
    if (!greeted && received.find('\n') != std::string::npos) {
      greeted = true;
      if (subscribed) subscribed();
    }
    if (pause > 0ms) std::this_thread::sleep_for(pause);
  }
  ::close(fd);
  return received;
}

// The port the server says it listens on, once it has said so.
std::optional<unsigned short> listening_port(const std::string& out) {
  const auto at = out.find("listening on 127.0.0.1:");
  if (at == std::string::npos || out.find('\n', at) == std::string::npos) return std::nullopt;
  return static_cast<unsigned short>(std::stoi(out.substr(at + 23)));
}

// A shell line that waits for `path` to exist, then runs `then`.
std::string once_exists(const std::string& path, const std::string& then) {
  return "while [ ! -e " + path + " ]; do sleep 0.01; done; " + then;
}

TEST(LogServerExample, StreamsEveryChildLineToAConnectedClient) {
  std::string received;
  // The child writes once the server has greeted the client: no line can precede the client,
  // nor can the child be done (and the server gone) before the client connects.
  const std::string go = test::temp_path("pipemux_log_server_stream_go");
  std::remove(go.c_str());
  const auto result = test::run_command(
      {PIPEMUX_LOG_SERVER_EXE, "0", "--", "sh", "-c",
       once_exists(
           go, "i=0; while [ $i -lt 200 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.002; done")},
      {.timeout = 60s, .watch = [&](int, const std::string& out) {
         const auto port = listening_port(out);
         if (!port) return false;
         received = read_all_from(*port, 4096, 0ms, [&] { std::ofstream(go).put('\n'); });
         return true;
       }});
  std::remove(go.c_str());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto lines = test::lines_of(received);
  std::size_t next = 0;
  for (const auto& line : lines) {
    const auto at = line.find(" out | line ");
    if (at == std::string::npos) continue;
    EXPECT_EQ(line.substr(at + 12), std::to_string(next)) << line;
    EXPECT_NE(line.find(" child.0["), std::string::npos) << line;
    ++next;
  }
  EXPECT_EQ(next, 200u) << received;
  EXPECT_TRUE(received.starts_with(greeting)) << received.substr(0, 200);
  EXPECT_NE(received.find("* exited with code 0"), std::string::npos) << received;
}

TEST(LogServerExample, ASlowClientSlowsTheChildAndIsNeverDropped) {
  // 1.9 MB of log for a client taking 16 KiB every 5 ms (~3 MB/s): it falls far more than
  // 1 MiB behind what the child could write. The server keeps the batch instead of queueing,
  // so the client gets every line (it used to be disconnected at 1 MiB).
  std::string received;
  // The child writes once the server has greeted the client, which is then registered: every
  // line reaches it (no timing assumed).
  const std::string go = test::temp_path("pipemux_log_server_go");
  std::remove(go.c_str());
  const auto result = test::run_command(
      {PIPEMUX_LOG_SERVER_EXE, "0", "--", "sh", "-c", once_exists(go, "seq 1 40000")},
      {.timeout = 120s, .watch = [&](int, const std::string& out) {
         const auto port = listening_port(out);
         if (!port) return false;
         received = read_all_from(*port, 16384, 5ms, [&] { std::ofstream(go).put('\n'); });
         return true;
       }});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::size_t next = 1;
  for (const auto& line : test::lines_of(received)) {
    const auto at = line.find(" out | ");
    if (at == std::string::npos) continue;
    ASSERT_EQ(line.substr(at + 7), std::to_string(next)) << line;
    ++next;
  }
  std::remove(go.c_str());
  EXPECT_EQ(next, 40001u);
  EXPECT_TRUE(received.starts_with(greeting)) << received.substr(0, 200);
  EXPECT_NE(received.find("* exited with code 0"), std::string::npos);
}

// `pipemux_log_to_stdout COMMAND...` as under `| head -1`: its stdout is a pipe whose reader
// takes the first line and closes. Says when the reader closed, and the first line.
struct under_head {
  test::command_result result;
  std::string first_line;
  std::chrono::steady_clock::time_point reader_left;
  std::chrono::steady_clock::time_point ended;
};

under_head run_under_head_1(const std::vector<std::string>& command) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  under_head run;
  std::thread head([&] {
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') run.first_line += c;
    run.reader_left = std::chrono::steady_clock::now();
    ::close(fds[0]);  // as head does once it has its line
  });
  std::vector<std::string> argv = {PIPEMUX_LOG_TO_STDOUT_EXE};
  argv.insert(argv.end(), command.begin(), command.end());
  // The limit only guards the suite: the example must end long before it, on its own.
  run.result = test::run_command(argv, {.timeout = 60s, .stdout_fd = fds[1]});
  run.ended = std::chrono::steady_clock::now();
  ::close(fds[1]);  // the reader ends too if the example never wrote a line
  head.join();
  return run;
}

// What the example documents for a reader that goes away: it stops its children and exits 141
// on its own, not killed by SIGPIPE (the README's example once wrote to fd 1 on the loop's
// thread and died so), whether the children are writing or quiet at the time.
void expect_ends_quietly_with_141(const under_head& run, const std::string& marker) {
  EXPECT_FALSE(run.result.timed_out) << "it did not notice its reader leave";
  EXPECT_EQ(run.result.signal, 0) << "killed by signal " << run.result.signal << " ("
                                  << (run.result.signal == SIGPIPE ? "SIGPIPE" : "?") << ")";
  EXPECT_EQ(run.result.exit_code, 141) << run.result.err;
  EXPECT_EQ(run.result.err, "");
  EXPECT_NE(run.first_line.find(" worker."), std::string::npos) << run.first_line;
  EXPECT_LT(run.ended - run.reader_left, 10s) << "not prompt";
  EXPECT_TRUE(test::none_left(marker)) << "its children were left running";
}

TEST(EmbeddingExample, UnderHeadOneItStopsItsChattyChildrenAndExits141) {
  const std::string marker = test::unique("pipemux-example-head-chatty");
  const auto run = run_under_head_1({"sh", "-c", "while :; do echo tick; done", marker});
  expect_ends_quietly_with_141(run, marker);
}

TEST(EmbeddingExample, UnderHeadOneItNoticesTheReaderLeaveWhileItsChildrenAreQuiet) {
  const std::string sleep = test::long_sleep();
  // Nothing but the reports of their start: only the writer watching its pipe sees head go.
  const auto run = run_under_head_1({"sh", "-c", "exec " + sleep});
  expect_ends_quietly_with_141(run, sleep);
}

TEST(EmbeddingExample, ItsOwnExitStatusWhenTheOutputStaysOpen) {
  const auto ok = test::run_command({PIPEMUX_LOG_TO_STDOUT_EXE, "echo", "hello"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  const auto lines = std::count(ok.out.begin(), ok.out.end(), '\n');
  EXPECT_EQ(lines, 8) << "started, hello, exited and summary, for each of two: " << ok.out;
  EXPECT_NE(ok.out.find(" out | hello\n"), std::string::npos) << ok.out;
  const auto failed = test::run_command({PIPEMUX_LOG_TO_STDOUT_EXE, "sh", "-c", "exit 3"});
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.out.find("exited with code 3"), std::string::npos) << failed.out;
}

}  // namespace
}  // namespace pipemux
