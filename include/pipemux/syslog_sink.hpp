// A spdlog sink that sends each message as RFC 5424 (syslog_message.hpp) through a
// socket_sender: to /dev/log, or a server over UDP or TCP (RFC 6587 octet counting: "LEN MSG").
// A message longer than `max_message` (the header included) goes in pieces that fit, MSGID
// "piece" on all but the last: a server cuts what is over its own maximum (rsyslog's is 8096
// bytes), and a datagram over 64 KiB is refused.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <cstddef>
#include <memory>
#include <string>

#include "pipemux/socket_sender.hpp"

namespace pipemux {

class syslog_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  /// `framed`: a stream (TCP), each message preceded by its length.
  syslog_sink(std::shared_ptr<socket_sender> sender, int facility, std::size_t max_message,
              bool framed);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}  // the sender writes as soon as the socket takes it

 private:
  std::shared_ptr<socket_sender> sender_;
  int facility_;
  std::size_t max_message_;
  bool framed_;
  std::string hostname_;
  std::string header_, piece_header_;  // reused
};

}  // namespace pipemux
