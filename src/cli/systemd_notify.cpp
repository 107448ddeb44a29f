#include "systemd_notify.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace pipemux::cli {
namespace {

// A variable of the environment, removed from it.
std::string take_variable(const char* name) {
  const char* value = std::getenv(name);
  std::string taken = value != nullptr ? value : "";
  ::unsetenv(name);
  return taken;
}

std::uint64_t number(const std::string& text) {
  std::uint64_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  return error == std::errc{} && end == text.data() + text.size() ? n : 0;
}

}  // namespace

systemd_notifier::systemd_notifier(boost::asio::io_context& io,
                                   const std::vector<program_spec>& programs,
                                   std::size_t max_running)
    : watchdog_timer_(io) {
  for (const auto& p : programs)
    for (std::size_t i = 0; i < p.instances; ++i) {
      awaits_probe_.push_back(p.ready.has_value());
      starts_anyway_.push_back(p.on_dependency_failure == dependency_failure::start_anyway);
    }
  const std::size_t children = awaits_probe_.size();
  state_.assign(children, 0);
  ready_after_ = max_running == 0 ? children : std::min(children, max_running);
  const std::string socket_path = take_variable("NOTIFY_SOCKET");
  const std::string watchdog_usec = take_variable("WATCHDOG_USEC");
  const std::string watchdog_pid = take_variable("WATCHDOG_PID");
  // A path, or "@name" for the abstract namespace; too long for sun_path: nobody to tell.
  if (socket_path.empty() || socket_path.size() >= sizeof address_.sun_path) return;
  if (socket_path[0] != '/' && socket_path[0] != '@') return;
  address_.sun_family = AF_UNIX;
  std::memcpy(address_.sun_path, socket_path.data(), socket_path.size());
  if (socket_path[0] == '@') address_.sun_path[0] = '\0';
  address_length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path.size());
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  const auto wait_us = std::chrono::duration_cast<std::chrono::microseconds>(send_wait).count();
  const timeval wait{.tv_sec = wait_us / 1'000'000, .tv_usec = wait_us % 1'000'000};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  // The watchdog is ours when systemd set no WATCHDOG_PID, or set it to us.
  const bool for_us = watchdog_pid.empty() || number(watchdog_pid) == std::uint64_t(::getpid());
  if (const auto usec = number(watchdog_usec); usec > 0 && for_us) {
    // Half, as sd_watchdog_enabled(3) advises; a tiny value must not make the loop spin.
    watchdog_interval_ = std::max<std::chrono::microseconds>(std::chrono::microseconds(usec / 2),
                                                             min_watchdog_interval);
    ping_watchdog();
  }
  if (children == 0) on_event({});  // nothing to wait for
}

systemd_notifier::~systemd_notifier() {
  if (fd_ >= 0) ::close(fd_);
}

// STATUS= and WATCHDOG=1 never wait: systemd reads at once, and if it does not, the next one
// says more. READY=1 and STOPPING=1 are said once: they wait for room in the socket's short
// queue (net.unix.max_dgram_qlen), send_wait at most.
void systemd_notifier::send(std::string_view text, bool once) const {
  if (fd_ < 0) return;
  ::sendto(fd_, text.data(), text.size(), once ? MSG_NOSIGNAL : MSG_NOSIGNAL | MSG_DONTWAIT,
           reinterpret_cast<const sockaddr*>(&address_), address_length_);
}

// On the loop: a loop that hangs stops the pings, and systemd acts (WatchdogSec=).
void systemd_notifier::ping_watchdog() {
  send("WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    // closed_: a wait that had already expired when close() came still completes without
    // an error, and re-arming then would keep the loop (and pipemux) running for ever.
    if (!ec && !closed_) ping_watchdog();
  });
}

std::string systemd_notifier::status_line() const {
  const auto running = std::count(state_.begin(), state_.end(), 1);
  const auto done = std::count(state_.begin(), state_.end(), -1);
  return fmt::format("{} of {} children running, {} ended", running, state_.size(), done);
}

void systemd_notifier::on_event(const child_event& event) {
  if (fd_ < 0) return;
  if (event.child) {
    const std::size_t index = event.child->index;
    if (index >= state_.size()) return;
    // Running and ready: started, or where a probe is asked, its answer (a timeout counts:
    // systemd hears of the failure from the run, not by waiting for ever).
    const bool started = awaits_probe_[index] ? event.kind == child_event_kind::ready ||
                                                    event.kind == child_event_kind::not_ready
                                              : event.kind == child_event_kind::started;
    const bool ended =
        event.kind == child_event_kind::exited || event.kind == child_event_kind::spawn_failed ||
        (event.kind == child_event_kind::dependency_failed && !starts_anyway_[index]);
    if (!started && !ended) return;
    signed char& state = state_[index];
    if (state == 0) ++accounted_;
    state = started ? 1 : -1;
  }
  if (stopping_sent_) return;  // STOPPING=1 was the last word
  if (!ready_sent_ && accounted_ >= ready_after_) {
    ready_sent_ = true;
    return send("READY=1\nSTATUS=" + status_line(), true);
  }
  send("STATUS=" + status_line());
}

void systemd_notifier::stopping(std::string_view why) {
  if (stopping_sent_) return;
  stopping_sent_ = true;
  send(fmt::format("STOPPING=1\nSTATUS=stopping: {}", why), true);
}

void systemd_notifier::close() {
  closed_ = true;
  watchdog_timer_.cancel();
}

}  // namespace pipemux::cli
