// What the peer's TCP has acknowledged of what was written to a connection, as the kernel
// knows it: the send queue (SIOCOUTQ: bytes written and not yet acknowledged), and the most the
// peer may hold acknowledged and unread. Both work on a connection already reset, as long as
// the socket is still open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace pipemux {

/// Bytes written to the TCP socket `fd` that its peer has not acknowledged yet (unsent ones
/// included); nullopt when the kernel does not say.
std::optional<std::size_t> tcp_unacknowledged_bytes(int fd) noexcept;

/// The largest receive window the peer of TCP socket `fd` can ever advertise: 65535 shifted by
/// the window scale it announced when connecting (RFC 7323). Linux picks that scale from the
/// largest receive buffer it may give a connection (net.ipv4.tcp_rmem's maximum, or
/// net.core.rmem_max), so that this window covers it (once to twice it): the peer cannot hold
/// more than this acknowledged and unread. Nullopt when the kernel does not say.
std::optional<std::size_t> tcp_largest_peer_window(int fd) noexcept;

// The sizes of the messages a TCP connection's peer acknowledged last, as many as make up
// `keep` bytes (older ones are forgotten): the ones it may not have handled when the
// connection ends are among them.
class acknowledged_tail {
 public:
  void add(std::size_t size, std::size_t keep) {
    sizes_.push_back(static_cast<std::uint32_t>(size));  // a message is 16 MiB at most
    bytes_ += size;
    while (sizes_.size() > 1 && bytes_ - sizes_.front() >= keep) {
      bytes_ -= sizes_.front();
      sizes_.pop_front();
    }
  }
  /// Messages with at least one of their bytes among the last `bytes` acknowledged.
  std::size_t count_within(std::size_t bytes) const {
    std::size_t count = 0, total = 0;
    for (auto it = sizes_.rbegin(); it != sizes_.rend() && total < bytes; ++it, ++count)
      total += *it;
    return count;
  }
  void clear() {
    sizes_.clear();
    bytes_ = 0;
  }

 private:
  std::deque<std::uint32_t> sizes_;
  std::size_t bytes_ = 0;
};

}  // namespace pipemux
