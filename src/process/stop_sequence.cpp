#include "pipemux/stop_sequence.hpp"

#include <csignal>

namespace pipemux {

stop_sequence::signal_list stop_sequence::stop(clock::time_point now, bool kill_at_once) noexcept {
  if (stopped_ || kill_at_once || stop_signal_ == SIGKILL) return kill();
  stopped_ = true;
  kill_at_ = now + grace_;
  return signals_now();
}

stop_sequence::signal_list stop_sequence::kill() noexcept {
  stopped_ = true;
  killed_ = true;
  return signals_now();
}

stop_sequence::signal_list stop_sequence::signals_now() const noexcept {
  if (killed_) return {SIGKILL, 0};
  if (stopped_) return {stop_signal_, SIGCONT};
  return {};
}

std::optional<stop_sequence::clock::time_point> stop_sequence::kill_deadline() const noexcept {
  if (!stopped_ || killed_) return std::nullopt;
  return kill_at_;
}

bool stop_sequence::kill_due(clock::time_point now) const noexcept {
  return stopped_ && !killed_ && kill_at_ <= now;
}

}  // namespace pipemux
