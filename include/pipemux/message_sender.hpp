// What the syslog sink sends through, whatever the transport: socket_sender (a local socket,
// UDP, TCP) on the event loop, or relp_sender (RELP, acknowledged per message) on a thread of
// its own. Every call is made on the loop, and every handler is called on it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace pipemux {

/// What a sender did with the messages of a run: for the report at the end, on SIGUSR2 and by
/// `pipemux ctl outputs`.
struct delivery_counts {
  std::size_t accepted = 0;       ///< messages given to send()
  std::size_t settled = 0;        ///< message_sender::settled()
  std::size_t resent = 0;         ///< sent again on a new connection (RELP: at most)
  std::size_t dropped = 0;        ///< message_sender::dropped()
  std::size_t possibly_lost = 0;  ///< message_sender::possibly_lost()
  std::size_t connections = 0;    ///< connections (RELP: sessions) made
  std::size_t spooled = 0;        ///< in a disk spool and not settled (spooling_sender)
};

class message_sender {
 public:
  virtual ~message_sender() = default;
  message_sender() = default;
  message_sender(const message_sender&) = delete;
  message_sender& operator=(const message_sender&) = delete;

  /// Queues one message (a datagram, or the next bytes of the stream) and starts sending.
  virtual void send(std::string message) = 0;
  /// More is waiting than the sender takes: the children should not be read until on_backlog
  /// says it may have changed.
  virtual bool backlogged() const = 0;
  /// A cue that backlogged() may have changed.
  virtual void on_backlog(std::function<void()> handler) = 0;
  /// Called once when messages start to be dropped, with why.
  virtual void on_dropping(std::function<void(const std::string& why)> handler) = 0;
  /// Called each time a connection ends, with how many messages may have been lost with it
  /// (possibly 0), and why it ended.
  virtual void on_connection_lost(
      std::function<void(std::size_t possibly_lost, const std::string& why)> handler) = 0;
  /// Sends what is queued, then calls `done` (at the sender's close timeout at the latest,
  /// counting what is left as dropped).
  virtual void close(std::function<void()> done) = 0;
  /// Drops what is queued and stops; returns how many messages were dropped.
  virtual std::size_t abandon() = 0;
  /// Messages given up: not sent, or dropped.
  virtual std::size_t dropped() const = 0;
  /// Messages a server took and may not have handled (plain TCP cannot tell).
  virtual std::size_t possibly_lost() const = 0;
  /// How many of the messages sent, from the first on, the sender is done with: delivered as
  /// far as its transport can tell (RELP: acknowledged; TCP: acknowledged by the server's TCP;
  /// a datagram: sent), or given up in between (a datagram refused, counted in dropped()). Only
  /// grows; what lies beyond it may still be sent, or be lost when the sender ends. A disk spool
  /// keeps a message until it is settled (spooling_sender.hpp).
  virtual std::size_t settled() const = 0;
  /// All of the above, and more, at once.
  virtual delivery_counts counts() const = 0;
  /// "tcp://127.0.0.1:514", "/dev/log": for messages.
  virtual std::string name() const = 0;
};

}  // namespace pipemux
