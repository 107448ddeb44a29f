// systemd's notify protocol, for Type=notify units: datagrams to $NOTIFY_SOCKET saying READY=1
// once every child has started, STATUS= as the children come and go, STOPPING=1 at the stop,
// and WATCHDOG=1 at half of $WATCHDOG_USEC while the event loop turns. sd_notify(3)'s protocol,
// written here rather than linking libsystemd for a handful of datagrams. Nothing happens when
// NOTIFY_SOCKET is not set.
//
// The CLI's, not the library's: it takes the variables out of this process's environment, so
// that no child talks to systemd in pipemux's name (as sd_notify's unset_environment does).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/events.hpp"
#include "pipemux/program.hpp"

namespace pipemux::cli {

class systemd_notifier {
 public:
  /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, and removes them from the environment.
  /// READY=1 once every child of `programs` has started (or got ready, where its program has a
  /// ready probe) or could not, or `max_running` of them (when not 0): those allowed to start
  /// at once.
  systemd_notifier(boost::asio::io_context& io, const std::vector<program_spec>& programs,
                   std::size_t max_running);
  ~systemd_notifier();
  systemd_notifier(const systemd_notifier&) = delete;
  systemd_notifier& operator=(const systemd_notifier&) = delete;

  /// A child started, failed to start or ended: READY=1 once each has started (or could not),
  /// and STATUS= with how many run.
  void on_event(const child_event& event);
  /// The run is stopping (a signal, stop_on, or its end): STOPPING=1, once.
  void stopping(std::string_view why);
  /// No more watchdog pings: the run is over.
  void close();

 private:
  /// How long READY=1 or STOPPING=1 may wait for room in systemd's socket.
  static constexpr std::chrono::milliseconds send_wait{250};
  /// The shortest time between two WATCHDOG=1, whatever WATCHDOG_USEC says.
  static constexpr std::chrono::milliseconds min_watchdog_interval{10};
  void send(std::string_view text, bool once = false) const;
  void ping_watchdog();
  std::string status_line() const;

  int fd_ = -1;
  sockaddr_un address_{};
  socklen_t address_length_ = 0;
  boost::asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  std::vector<signed char> state_;  // by child index: 0 not yet, 1 running, -1 done
  // By child index: its program has a ready probe (started is not enough), and it starts even
  // when a dependency fails (dependency_failed does not end it).
  std::vector<bool> awaits_probe_;
  std::vector<bool> starts_anyway_;
  std::size_t accounted_ = 0;  // children started once, or that could not start
  std::size_t ready_after_;    // accounted_ then: READY=1
  bool closed_ = false;
  bool ready_sent_ = false;
  bool stopping_sent_ = false;
};

}  // namespace pipemux::cli
