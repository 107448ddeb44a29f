// Output handed over with flow control: what one read of one child's pipe completed.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "pipemux/message.hpp"

namespace pipemux {

namespace detail {
struct batch_builder;
}

/// The messages that one read of one child's pipe completed, in order: one child, one stream,
/// one arrival time. While a batch exists, that child's pipe (that stream) is not read again,
/// so a child whose batches are held blocks in `write` once its pipe is full, as in any Unix
/// pipeline, and only that child: holding a batch is how a consumer slows a child down.
///
/// The bytes stay valid as long as the batch exists (even after the supervisor is gone): they
/// are views into the read buffer, which is not reused until the batch is destroyed or
/// released. (Each message's `child` is shared: it may outlive the batch.) Move-only. Destroy
/// batches before their io_context.
class message_batch {
 public:
  message_batch() = default;
  message_batch(message_batch&& other) noexcept
      : messages_(std::exchange(other.messages_, {})),
        owned_(std::move(other.owned_)),
        hold_(std::move(other.hold_)) {}
  message_batch& operator=(message_batch&& other) noexcept {
    if (this != &other) {
      release();
      messages_ = std::exchange(other.messages_, {});
      owned_ = std::move(other.owned_);
      hold_ = std::move(other.hold_);
    }
    return *this;
  }
  ~message_batch() = default;

  auto begin() const noexcept { return messages_.begin(); }
  auto end() const noexcept { return messages_.end(); }
  std::size_t size() const noexcept { return messages_.size(); }
  bool empty() const noexcept { return messages_.empty(); }
  const message& operator[](std::size_t i) const { return messages_[i]; }
  /// Bytes in all its messages.
  std::size_t bytes() const noexcept;

  /// Lets the child's pipe be read again now (as destroying it does): the batch is empty after.
  void release() noexcept;

 private:
  friend struct detail::batch_builder;
  // In storage that the hold owns and hands back to its pipe for the next read, so that a
  // chatty child does not cost an allocation (and the page faults of a growing heap) per read.
  std::span<const message> messages_;
  std::vector<std::unique_ptr<char[]>> owned_;  // lines joined across reads: copied here
  std::shared_ptr<void> hold_;  // its end lets the pipe be read again; keeps the buffer alive
};

}  // namespace pipemux
