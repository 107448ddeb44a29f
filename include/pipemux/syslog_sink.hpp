// A spdlog sink that sends each message as RFC 5424 (syslog_message.hpp) through a
// message_sender: to /dev/log, or a server over UDP, TCP (RFC 6587 octet counting: "LEN MSG")
// or RELP (relp_sender.hpp).
// A message longer than `max_message` (the header included) goes in pieces that fit, MSGID
// "piece" on all but the last: a server cuts what is over its own maximum (rsyslog's is 8096
// bytes), and a datagram over 64 KiB is refused.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <cstddef>
#include <memory>
#include <string>

#include <cstdint>
#include <vector>

#include "pipemux/events.hpp"
#include "pipemux/message_sender.hpp"

namespace pipemux {

class syslog_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  /// How the messages go: `framed`, on a stream (TCP), each preceded by its length; `numbered`,
  /// each with seq="N" in its structured data, counting from 1 for each child (its index) and
  /// for pipemux's own, so that a message a server got twice (RELP: at least once) can be told.
  struct delivery {
    bool framed = false;
    bool numbered = false;
  };
  syslog_sink(std::shared_ptr<message_sender> sender, int facility, std::size_t max_message,
              delivery how);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}  // the sender writes as soon as the socket takes it

 private:
  std::uint64_t next_sequence(const child_info* child);

  std::shared_ptr<message_sender> sender_;
  int facility_;
  std::size_t max_message_;
  delivery how_;
  std::vector<std::uint64_t> sequences_;  // the last sent, by child index
  std::uint64_t own_sequence_ = 0;        // pipemux's own messages
  std::string hostname_;
  std::string header_, piece_header_, numbered_header_;  // reused
};

}  // namespace pipemux
