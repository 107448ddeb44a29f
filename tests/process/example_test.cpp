// The example service (examples/log_server.cpp), exercised as a real TCP client would.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;

std::string read_all_from(unsigned short port) {
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
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) received.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return received;
}

TEST(LogServerExample, StreamsEveryChildLineToAConnectedClient) {
  std::string received;
  const auto result = test::run_command(
      {PIPEMUX_LOG_SERVER_EXE, "0", "--", "sh", "-c",
       "i=0; while [ $i -lt 200 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.002; done"},
      {.timeout = 60s, .watch = [&](int, const std::string& out) {
         const auto at = out.find("listening on 127.0.0.1:");
         if (at == std::string::npos || out.find('\n', at) == std::string::npos) return false;
         received = read_all_from(static_cast<unsigned short>(std::stoi(out.substr(at + 23))));
         return true;
       }});
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
  EXPECT_NE(received.find("* exited with code 0"), std::string::npos) << received;
}

}  // namespace
}  // namespace pipemux
