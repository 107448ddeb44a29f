// Sends syslog messages over RELP, rsyslog's Reliable Event Logging Protocol, with librelp (the
// library rsyslog's own omrelp uses), on a thread of its own: librelp's client blocks while it
// connects and while it waits for the server's acknowledgements, and the loop must not.
//
// At least once: a message handed to librelp stays in its window until the server acknowledges
// it; when the connection ends first, librelp sends the window again on the next connection,
// before anything newer. A server may so get a message twice: the syslog sink numbers each
// child's messages (seq="N" in the RFC 5424 structured data) so that a duplicate can be told.
//
// Nothing is dropped while the run goes on: more than `high_water` bytes waiting for the thread
// is "backlogged" until back to `low_water`, and the CLI does not read the children meanwhile,
// also while the server is away (a RELP sink holds the children rather than lose their lines).
//
// close() sends what is queued, then closes the session: the server answers "close" after it
// acknowledged every message before it, so a clean close confirms them all. It waits
// `close_timeout` at most; then what was never sent is dropped and counted, and what the window
// held unconfirmed is counted as possibly lost. The thread itself ends within `timeout` more
// (librelp waits in whole seconds); the destructor does not wait for it, and it calls nothing
// on the loop once the sender is destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "pipemux/log_options.hpp"
#include "pipemux/message_sender.hpp"

namespace pipemux {

class relp_sender final : public message_sender {
 public:
  struct limits {
    std::size_t high_water = std::size_t{1} << 19;  ///< waiting above: backlogged
    std::size_t low_water = std::size_t{1} << 17;   ///< back to this: not backlogged
    int window = 128;  ///< messages sent and not acknowledged yet, at most (librelp's default)
    /// An acknowledgement (or the answer to "open") waited for this long, else the connection
    /// is taken as broken and made again; librelp counts it in whole seconds.
    std::chrono::seconds timeout{5};
    std::chrono::seconds connect_timeout{2};        ///< one attempt to connect
    std::chrono::milliseconds close_timeout{5000};  ///< close() waits this long at most
  };

  /// `address.via` is transport::relp; TLS when `tls.on()` (librelp's own, with GnuTLS): the
  /// server's certificate is checked against `tls.ca` and must name `address.host`.
  relp_sender(const boost::asio::any_io_executor& loop, syslog_address address,
              syslog_tls_files tls, limits marks);
  relp_sender(const boost::asio::any_io_executor& loop, syslog_address address,
              syslog_tls_files tls = {})
      : relp_sender(loop, std::move(address), std::move(tls), limits{}) {}
  ~relp_sender() override;

  void send(std::string message) override;
  /// More than the high-water mark waits to be handed to librelp, connected or not.
  bool backlogged() const override;
  void on_backlog(std::function<void()> handler) override;
  /// Called once when messages start to be dropped: only at the end (close's timeout, abandon).
  void on_dropping(std::function<void(const std::string& why)> handler) override;
  /// Called when a session ends, or cannot be made (once until one is made again), with 0:
  /// librelp sends again what the server had not acknowledged.
  void on_connection_lost(
      std::function<void(std::size_t possibly_lost, const std::string& why)> handler) override;
  void close(std::function<void()> done) override;
  std::size_t abandon() override;
  /// Messages never sent: left when close() timed out, or given up by abandon().
  std::size_t dropped() const override;
  /// Messages sent that the server may not have acknowledged when the run ended (at most the
  /// window): 0 after a clean close.
  std::size_t possibly_lost() const override;
  /// librelp tells no acknowledgement on its own: a message is known acknowledged once `window`
  /// more were handed to librelp after it (librelp waits for an acknowledgement when its window
  /// is full), and all of them are after a clean close.
  std::size_t settled() const override;
  delivery_counts counts() const override;
  /// "relp://127.0.0.1:2514".
  std::string name() const override;
  /// Messages handed to librelp (the first sending of each; librelp's own resending is not
  /// counted), and the sessions made.
  std::size_t sent() const;
  std::size_t sessions() const;

 private:
  struct state;
  std::shared_ptr<state> state_;  // shared with the thread and with handlers posted to the loop
  std::unique_ptr<boost::asio::steady_timer> deadline_;  // close()'s; the loop's, not the thread's
};

}  // namespace pipemux
