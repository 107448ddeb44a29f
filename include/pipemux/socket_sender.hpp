// Sends messages to a socket on the event loop, never blocking it: the transport of the journal
// and syslog sinks. Datagrams to a local socket (the journal's, /dev/log) or over UDP, one
// message each; or one byte stream over TCP (the caller frames the messages).
//
// Messages wait in a queue while the socket is busy or not connected; a lost connection is made
// again with backoff (0.1 s doubling to 5 s).
//
// Connected (or connecting), more than `high_water` bytes waiting is "backlogged" until back to
// `low_water`: the CLI stops reading the children meanwhile (flow control, as for a slow
// stdout). Nothing is dropped then: the queue is bounded by that pause, at what the reads
// already under way add (one read of each pipe, as messages).
//
// Not connected (the server is away), the queue is a bounded buffer: once it holds `max_queued`
// bytes, new messages are dropped and counted (a dead server must not stall the children for
// ever).
//
// TCP: a read is kept pending (a syslog server never sends), so a closed or reset connection is
// noticed at once. What the server's TCP had not acknowledged is sent again on the next
// connection (a message may then arrive twice). Of what it acknowledged, the server may not have
// handled the last of it: the messages acknowledged within twice the largest window it can
// advertise (tcp_largest_peer_window) are counted as possibly lost (README "syslog").
//
// close() sends what is queued (TCP: until the server's TCP acknowledged it), waiting at most
// `close_timeout`; what is left then is dropped and counted.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "pipemux/log_options.hpp"
#include "pipemux/message_sender.hpp"

namespace pipemux {

/// Where a socket_sender sends: a unix datagram socket's path, or a host and
/// port over UDP or TCP. The config's syslog_address says all of that; the
/// journal's socket is a unix one.
using socket_address = syslog_address;

/// "udp://127.0.0.1:514", "tcp://[::1]:514", "relp://host:2514", "/dev/log": for messages.
std::string socket_address_name(const socket_address& address);

class socket_sender final : public message_sender {
 public:
  struct limits {
    std::size_t max_queued = std::size_t{8} << 20;    ///< not connected: bytes held; then drops
    std::size_t high_water = std::size_t{1} << 19;    ///< connected, waiting above: backlogged
    std::size_t low_water = std::size_t{1} << 17;     ///< back to this: not backlogged
    std::chrono::milliseconds close_timeout{5000};    ///< close() waits this long at most
    std::chrono::milliseconds connect_timeout{2000};  ///< one attempt to connect, or look up
  };

  /// `address.tls` (tls://): TLS over the TCP connection, the server's certificate checked
  /// against `tls.ca` (else the system's CAs) and for the address's host; throws
  /// std::runtime_error naming a file that cannot be used.
  socket_sender(const boost::asio::any_io_executor& loop, socket_address address, limits marks,
                const syslog_tls_files& tls = {});
  socket_sender(const boost::asio::any_io_executor& loop, socket_address address)
      : socket_sender(loop, std::move(address), limits{}) {}
  ~socket_sender() override;

  /// Queues one message (a datagram, or the next bytes of the stream) and
  /// starts sending; call on the loop.
  void send(std::string message) override;
  /// Connected (or connecting), and more waiting than the high-water mark.
  bool backlogged() const override;
  /// A cue, on the loop, that backlogged() may have changed.
  void on_backlog(std::function<void()> handler) override;
  /// Called once, on the loop, when messages start to be dropped, with why.
  void on_dropping(std::function<void(const std::string& why)> handler) override;
  /// TCP: called on the loop each time a connection ends, with how many
  /// messages its server acknowledged that it may not have read (possibly 0),
  /// and why it ended.
  void on_connection_lost(
      std::function<void(std::size_t possibly_lost, const std::string& why)> handler) override;
  /// Sends what is queued, then calls `done` on the loop (after close_timeout
  /// at the latest, counting what is left as dropped).
  void close(std::function<void()> done) override;
  /// Drops what is queued and stops (what is sent after is dropped too);
  /// returns how many messages were dropped.
  std::size_t abandon() override;
  /// Messages given up: dropped while not connected, or left at the end.
  std::size_t dropped() const override;
  /// TCP: messages the server acknowledged before a connection ended that it
  /// may not have read (the sum of what on_connection_lost said).
  std::size_t possibly_lost() const override;
  /// Messages taken off the queue's front: sent (a datagram), acknowledged by the server's TCP,
  /// or a datagram refused.
  std::size_t settled() const override;
  delivery_counts counts() const override;
  /// "udp://127.0.0.1:514", "/dev/log": for messages.
  std::string name() const override;

 private:
  struct state;
  std::shared_ptr<state> state_;  // shared with pending handlers, which may outlive us
};

}  // namespace pipemux
