// What the peer's TCP has acknowledged of what was written to a connection, as the kernel
// knows it: the send queue (SIOCOUTQ: bytes written and not yet acknowledged), and the most the
// peer may hold acknowledged and unread. Both work on a connection already reset, as long as
// the socket is still open.
#pragma once

#include <cstddef>
#include <optional>

namespace pipemux::cli {

/// Bytes written to the TCP socket `fd` that its peer has not acknowledged yet (unsent ones
/// included); nullopt when the kernel does not say.
std::optional<std::size_t> tcp_unacknowledged_bytes(int fd) noexcept;

/// The largest receive window the peer of TCP socket `fd` can ever advertise: 65535 shifted by
/// the window scale it announced when connecting (RFC 7323). Linux picks that scale from the
/// largest receive buffer it may give a connection (net.ipv4.tcp_rmem's maximum, or
/// net.core.rmem_max), so that this window covers it (once to twice it): the peer cannot hold
/// more than this acknowledged and unread. Nullopt when the kernel does not say.
std::optional<std::size_t> tcp_largest_peer_window(int fd) noexcept;

}  // namespace pipemux::cli
