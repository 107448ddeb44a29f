// A spdlog sink that sends each message as RFC 5424 (syslog_message.hpp) through a
// socket_sender: to /dev/log, or a server over UDP or TCP (RFC 6587 octet counting: "LEN MSG").
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <string>

#include "socket_sender.hpp"
#include "syslog_message.hpp"

namespace pipemux::cli {

class syslog_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  /// `framed`: a stream (TCP), each message preceded by its length.
  syslog_sink(std::shared_ptr<socket_sender> sender, int facility, bool framed)
      : sender_(std::move(sender)),
        facility_(facility),
        framed_(framed),
        hostname_(syslog_hostname()) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string message;
    append_rfc5424(message, msg, facility_, hostname_);
    if (framed_) message.insert(0, std::to_string(message.size()) + " ");
    sender_->send(std::move(message));
  }
  void flush_() override {}  // the sender writes as soon as the socket takes it

 private:
  std::shared_ptr<socket_sender> sender_;
  int facility_;
  bool framed_;
  std::string hostname_;
};

}  // namespace pipemux::cli
