// A bounded disk spool in front of a network sender (a syslog sink's `spool = "DIR"`): every
// message goes to a file first, in order, and to the transport from there, oldest first, as
// fast as the transport takes them. A collector that is away or slow so fills the spool rather
// than holding up the children; a message leaves the spool only once the transport settled it
// (message_sender::settled(): RELP's acknowledgement; TCP's, for plain TCP). What is left at the
// end stays in the file, and the next run with the same spool sends it before its own messages:
// it survives pipemux itself (and a crash of it: the file is written once each turn of the
// loop), not a crash of the machine (no fsync).
//
// When the spool holds `max_bytes`, it is backlogged: the children are not read until it is
// below again (backpressure, never dropping). At least once: a message the transport had not
// settled when the run ended (or when pipemux died) is sent again by the next run.
//
// The file format is disk_spool's (src/log/disk_spool.hpp): a checksum per record, so that a
// record torn by a crash is skipped with a warning, never sent.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pipemux/message_sender.hpp"

namespace pipemux {

class spooling_sender final : public message_sender {
 public:
  struct limits {
    std::uint64_t max_bytes = std::uint64_t{1} << 30;  ///< spooled: more is backlogged
    /// Handed to the transport and not settled yet, at most (at least 256 messages, so that a
    /// RELP window of long messages always moves).
    std::uint64_t in_flight = std::uint64_t{4} << 20;
    /// close() sends what is spooled as long as the transport settles messages: this long
    /// without one ends it (what is left stays spooled).
    std::chrono::milliseconds close_timeout{5000};
    /// What the transport's possibly_lost() counts is not settled (RELP: its window at the end):
    /// it stays in the spool, and is not lost.
    bool lost_is_unsettled = false;
  };

  /// Spools to the file `path` (created, with its directory's last component, if need be) for
  /// `transport`. Throws std::runtime_error with one line naming the file when it cannot be
  /// used: not a spool, locked by another pipemux, not writable.
  spooling_sender(const boost::asio::any_io_executor& loop,
                  std::shared_ptr<message_sender> transport, const std::string& path, limits marks);
  ~spooling_sender() override;

  void send(std::string message) override;
  /// The spool holds max_bytes (or a full disk keeps messages in memory).
  bool backlogged() const override;
  void on_backlog(std::function<void()> handler) override;
  /// Only at the end: messages the spool could not write (a full disk).
  void on_dropping(std::function<void(const std::string& why)> handler) override;
  /// The transport's.
  void on_connection_lost(
      std::function<void(std::size_t possibly_lost, const std::string& why)> handler) override;
  /// Hands the transport what is spooled while it settles messages (close_timeout without
  /// one ends it), then closes it; what it did not settle stays spooled for the next run.
  void close(std::function<void()> done) override;
  /// Stops sending: what is not settled stays spooled. Returns the messages lost (not written).
  std::size_t abandon() override;
  std::size_t dropped() const override;
  std::size_t possibly_lost() const override;
  std::size_t settled() const override;
  delivery_counts counts() const override;
  std::string name() const override;

  /// The spool file.
  std::string path() const;
  /// Messages in the spool and not settled (after close(): left for the next run).
  std::size_t spooled() const;
  /// Found in the spool when it was opened, from an earlier run; and what was wrong with the
  /// file's end or header then (empty if nothing).
  std::size_t carried_over() const;
  std::string damage() const;

 private:
  struct state;
  std::shared_ptr<state> state_;  // shared with handlers on the loop
};

/// The spool file of a sink to `address_name` ("relp://host:2514") in `directory`:
/// "relp-host-2514.spool".
std::string spool_file_name(const std::string& directory, const std::string& address_name);

}  // namespace pipemux
