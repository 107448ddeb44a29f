// <linux/tcp.h> for tcp_info as the kernel has it; it cannot share a file with <netinet/tcp.h>,
// which Asio includes: hence a file of its own.
#include "log/tcp_acknowledgement.hpp"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace pipemux {

std::optional<std::size_t> tcp_unacknowledged_bytes(int fd) noexcept {
  int queued = 0;
  if (::ioctl(fd, SIOCOUTQ, &queued) != 0 || queued < 0) return std::nullopt;
  return static_cast<std::size_t>(queued);
}

std::optional<std::size_t> tcp_largest_peer_window(int fd) noexcept {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0 ||
      size < offsetof(tcp_info, tcpi_rcv_mss))
    return std::nullopt;
  constexpr std::size_t unscaled = 65535;
  if ((info.tcpi_options & TCPI_OPT_WSCALE) == 0) return unscaled;
  return unscaled << info.tcpi_snd_wscale;  // RFC 7323: 14 at most, so 1 GiB
}

}  // namespace pipemux
