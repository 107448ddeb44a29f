// Internal: how the supervisor fills a message_batch (whose members are private).
#pragma once

#include <memory>
#include <string_view>

#include "pipemux/message_batch.hpp"

namespace pipemux::detail {

struct batch_builder {
  /// The batch's messages are `messages` (which `hold` must keep alive).
  static void set_messages(message_batch& batch, std::span<const message> messages) {
    batch.messages_ = messages;
  }
  /// A copy of `bytes` that lives as long as the batch.
  static std::string_view own(message_batch& batch, std::string_view bytes);
  /// What the batch keeps until its end (which lets the pipe be read again).
  static void hold(message_batch& batch, std::shared_ptr<void> hold) {
    batch.hold_ = std::move(hold);
  }
};

}  // namespace pipemux::detail
