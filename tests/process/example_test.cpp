// The example service (examples/log_server.cpp), exercised as a real TCP client would.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

}  // namespace
}  // namespace pipemux
