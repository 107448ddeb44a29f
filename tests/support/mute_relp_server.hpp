// A RELP server that never acknowledges a message (tests/process/relp_test.cpp, spool_test.cpp),
// and what the tests read of a process meanwhile: its CPU time and its resident memory.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>

#include "run_command.hpp"

namespace pipemux::test {

// A server that takes the connection and reads, and never acknowledges a message; it answers
// RELP's "open" (the first frame) when `answers_open`, and else nothing at all.
class mute_server {
 public:
  explicit mute_server(bool answers_open) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
      return;
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, answers_open] {
      while (true) {
        const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;  // the listener was shut down
        ++connections_;
        std::thread([client, answers_open] {
          if (answers_open) answer_open(client);
          char buffer[65536];
          while (::read(client, buffer, sizeof buffer) > 0) {
          }
          ::close(client);
        }).detach();
      }
    });
  }
  ~mute_server() {
    ::shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

 private:
  // Reads "1 open LEN DATA\n" (RELP frames: TXNR COMMAND DATALEN DATA TRAILER), and answers it
  // as a server that takes syslog messages.
  static void answer_open(int client) {
    std::string got;
    char c = 0;
    int spaces = 0;
    while (spaces < 3 && ::read(client, &c, 1) == 1) {
      got += c;
      if (c == ' ') ++spaces;
    }
    std::size_t length = 0;
    std::istringstream(got.substr(got.find("open ") + 5)) >> length;
    for (std::size_t i = 0; i <= length && ::read(client, &c, 1) == 1; ++i) {  // data and '\n'
    }
    const std::string data = "200 OK\nrelp_version=0\nrelp_software=mute\ncommands=syslog\n";
    const std::string frame = "1 rsp " + std::to_string(data.size()) + " " + data + "\n";
    if (::write(client, frame.data(), frame.size()) < 0) return;
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

inline long cpu_ticks(int pid) {
  std::istringstream stat(read_file("/proc/" + std::to_string(pid) + "/stat"));
  std::string field;
  for (int i = 0; i < 13 && stat >> field; ++i) {
  }
  long user = 0, system = 0;
  stat >> user >> system;
  return user + system;
}

inline long resident_kib(int pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace pipemux::test
