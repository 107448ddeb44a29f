// Delivers syslog messages on the event loop: datagrams to a local socket (/dev/log) or over
// UDP, or a stream over TCP with RFC 6587 octet-counting framing ("LEN MSG").
//
// - Messages wait in a queue while the socket is busy or not connected; a lost connection is
//   made again with backoff (0.1 s doubling to 5 s), and the messages of a write that failed
//   are sent again: one may arrive twice, none is lost while the queue has room.
// - Connected but slow, the queue past its high-water mark is "backlogged": the CLI stops
//   reading the children until it drains (flow control, as for a slow stdout).
// - Not connected, the queue is a bounded buffer: once full, new messages are dropped and
//   counted (a dead server must not stall the workers for ever).
// - close() sends what is queued, waiting at most `close_timeout` for the server.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "pipemux/config.hpp"

namespace pipemux::cli {

class syslog_sender {
 public:
  struct limits {
    std::size_t max_queued = std::size_t{8} << 20;  ///< bytes buffered at most; then drops
    std::size_t high_water = std::size_t{1} << 19;  ///< connected, queued above: backlogged
    std::size_t low_water = std::size_t{1} << 17;   ///< back to this: not backlogged
    std::chrono::milliseconds close_timeout{5000};  ///< close() waits this long at most
  };

  syslog_sender(const boost::asio::any_io_executor& loop, syslog_address address, limits marks);
  syslog_sender(const boost::asio::any_io_executor& loop, syslog_address address)
      : syslog_sender(loop, std::move(address), limits{}) {}
  ~syslog_sender();
  syslog_sender(const syslog_sender&) = delete;
  syslog_sender& operator=(const syslog_sender&) = delete;

  /// Queues one message (unframed) and starts sending; call on the loop.
  void send(std::string message);
  /// Connected, and more queued than the high-water mark.
  bool backlogged() const;
  /// A cue, on the loop, that backlogged() may have changed.
  void on_backlog(std::function<void()> handler);
  /// Called once, on the loop, when messages start to be dropped, with why.
  void on_dropping(std::function<void(const std::string& why)> handler);
  /// Sends what is queued, then calls `done` on the loop (after close_timeout at the latest,
  /// counting what is left as dropped).
  void close(std::function<void()> done);
  /// Drops what is queued and stops; returns how many messages were dropped.
  std::size_t abandon();
  std::size_t dropped() const;
  /// "udp://127.0.0.1:514", "/dev/log": for messages.
  std::string name() const;

 private:
  struct state;
  std::shared_ptr<state> state_;  // shared with pending handlers, which may outlive us
};

}  // namespace pipemux::cli
