// Test support: a unix datagram socket of the test's own, standing in for /dev/log or the
// journal's socket, read while the sender's event loop runs.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pipemux::test {

class datagram_server {
 public:
  /// Binds `name` (made unique to this process) in the temporary directory.
  explicit datagram_server(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("pipemux-" + name + "-" + std::to_string(::getpid()) + ".sock")) {
    std::filesystem::remove(path_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~datagram_server() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  datagram_server(const datagram_server&) = delete;
  datagram_server& operator=(const datagram_server&) = delete;

  std::string path() const { return path_.string(); }
  bool bound() const { return bound_; }

  /// The next datagram, running `io` (the sender's loop) until one comes or 5 s have passed:
  /// the socket's queue is short (net.unix.max_dgram_qlen), the sender waits for room.
  std::optional<std::string> receive(boost::asio::io_context& io) {
    std::vector<char> buffer(1 << 20);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n >= 0) return std::string(buffer.data(), static_cast<std::size_t>(n));
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool bound_ = false;
};

}  // namespace pipemux::test
