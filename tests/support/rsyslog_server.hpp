// A real rsyslogd for the tests that send it syslog (tests/process/syslog_test.cpp,
// relp_test.cpp), writing what it parsed (%app-name% %procid% %syslogseverity-text% %msgid%
// %structured-data% %msg%) to a file.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "run_command.hpp"

namespace pipemux::test {
using namespace std::chrono_literals;

// Whether something listens on loopback TCP `port`, as /proc/net/tcp says: without connecting,
// which a RELP server would log as a broken session.
inline bool tcp_listening(int port) {
  char local[32];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  std::ifstream table("/proc/net/tcp");
  std::string line;
  while (std::getline(table, line))
    if (line.find(local) != std::string::npos && line.find(" 0A ") != std::string::npos)
      return true;  // 0A: LISTEN
  return false;
}

inline bool tcp_answers(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

// rsyslogd in the foreground, as the notes' recipe has it, in a directory of the test's own
// (`name`) and on a loopback port nobody used; stopped by its pid at the end. It listens on
// that port with TCP and UDP and on a unix socket (listening::plain), or with RELP alone.
class rsyslog {
 public:
  enum class listening : unsigned char { plain, relp, tls };

  /// `relp_options`: more of imrelp's input parameters (TLS: tls="on" tls.caCert=...); for
  /// `tls` (imtcp with the gtls driver), the global() parameters that name the files
  /// (DefaultNetstreamDriverCAFile=... CertFile=... KeyFile=...).
  explicit rsyslog(const std::string& name, listening how = listening::plain,
                   const std::string& relp_options = "")
      : dir_(temp_path(name)), port_(free_port()), how_(how) {
    std::filesystem::remove_all(dir_);  // a test repeated (--gtest_repeat) starts afresh
    std::filesystem::create_directories(dir_);
    const std::string& dir = dir_;
    const int port = port_;
    std::ofstream conf(dir + "/rs.conf");
    conf << "global(workDirectory=\"" << dir
         << "\")\n"
         // One message at a time, in order, each written before the next is taken: with its
         // default in-memory queue rsyslog writes batches out of order (two workers) and may
         // lose what it queued if it is killed (a loss no TCP client can see, README "syslog").
         << "main_queue(queue.type=\"Direct\")\n";
    if (how == listening::tls)
      conf << "global(DefaultNetstreamDriver=\"gtls\" " << relp_options << ")\n"
           << "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" "
              "StreamDriver.AuthMode=\"anon\")\n"
           << "input(type=\"imtcp\" port=\"" << port << "\" address=\"127.0.0.1\")\n";
    else if (how == listening::relp)
      conf << "module(load=\"imrelp\")\n"
           << "input(type=\"imrelp\" port=\"" << port << "\" address=\"127.0.0.1\" " << relp_options
           << ")\n";
    else
      conf << "module(load=\"imtcp\")\n"
           << "input(type=\"imtcp\" port=\"" << port << "\" address=\"127.0.0.1\")\n"
           << "module(load=\"imudp\")\n"
           // UDP has no flow control: a receive buffer of 8 MiB
           // holds a burst the server is slow to read.
           << "input(type=\"imudp\" port=\"" << port
           << "\" address=\"127.0.0.1\" rcvbufSize=\"8m\")\n"
           << "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
           << "input(type=\"imuxsock\" Socket=\"" << dir
           << "/log.sock\" UseSpecialParser=\"off\" "
              "ParseHostname=\"on\")\n";
    conf << "template(name=\"t\" type=\"string\" string=\"%app-name% "
            "%procid% %syslogseverity-text% %msgid% "
            "%structured-data% %msg%\\n\")\n"
         << "action(type=\"omfile\" file=\"" << dir << "/out.log\" template=\"t\")\n";
  }
  ~rsyslog() { stop(); }

  /// Whether it answers on its port and its socket.
  bool start() {
    if (port_ == 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string conf = dir_ + "/rs.conf", pidfile = dir_ + "/rs.pid";
      const std::string log = dir_ + "/rsyslogd.out";
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      ::execlp("rsyslogd", "rsyslogd", "-n", "-f", conf.c_str(), "-i", pidfile.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (how_ != listening::plain
              ? tcp_listening(port_)
              : tcp_answers(port_) && std::filesystem::exists(dir_ + "/log.sock"))
        return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  /// Freezes it (SIGSTOP): it takes connections no more, nor reads, nor answers.
  void freeze() const {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }

  /// Stops it with `sig` (SIGKILL: as if it crashed) and waits until it is gone.
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// What rsyslog wrote, once it has `lines` lines (it writes asynchronously), or after 10 s.
  std::string received(std::size_t lines) const {
    return received_until([lines](const std::string& text) {
      return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) >= lines;
    });
  }

  /// What rsyslog wrote, once `done` is true of it, or after `limit`.
  std::string received_until(const std::function<bool(const std::string&)>& done,
                             std::chrono::milliseconds limit = 10s) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string text = read_file(dir_ + "/out.log");
    while (!done(text) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      text = read_file(dir_ + "/out.log");
    }
    return text;
  }

  std::string socket() const { return dir_ + "/log.sock"; }
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  /// What rsyslogd said of itself (why it did not start).
  std::string startup_log() const { return read_file(dir_ + "/rsyslogd.out"); }

 private:
  std::string dir_;
  int port_;
  listening how_;
  pid_t pid_ = -1;
};

// The line a run ends with on stderr when its syslog output over the network delivered all of
// its `messages` on one connection (a run that sends to a local socket says nothing).
inline std::string clean_report(const std::string& address, int messages) {
  const std::string n = std::to_string(messages);
  if (address.find("://") == std::string::npos) return "";
  const std::string via = address.substr(0, address.find("://"));
  const bool stream = via == "tcp" || via == "tls";
  const std::string settled = via == "relp" ? " acknowledged, 0 sent again"
                              : stream      ? " acknowledged by the server's TCP, 0 sent again"
                                            : " sent";
  return "pipemux: delivered: syslog " + address + ": " + n + " messages, " + n + settled +
         ", 0 dropped, 1 " + (via == "relp" ? "session" : "connection") + "\n";
}

inline bool rsyslogd_installed() {
  return std::system("command -v rsyslogd >/dev/null") == 0;
}

}  // namespace pipemux::test
