// A spdlog sink that sends each message as RFC 5424 (syslog_message.hpp) through a
// syslog_sender: to /dev/log, or a server over UDP or TCP.
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <string>

#include "syslog_message.hpp"
#include "syslog_sender.hpp"

namespace pipemux::cli {

class syslog_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  syslog_sink(std::shared_ptr<syslog_sender> sender, int facility)
      : sender_(std::move(sender)), facility_(facility), hostname_(syslog_hostname()) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string message;
    append_rfc5424(message, msg, facility_, hostname_);
    sender_->send(std::move(message));
  }
  void flush_() override {}  // the sender writes as soon as the socket takes it

 private:
  std::shared_ptr<syslog_sender> sender_;
  int facility_;
  std::string hostname_;
};

}  // namespace pipemux::cli
