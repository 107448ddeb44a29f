// The one way pipemux stops a process, whether a child, what a child left in the run's cgroup
// or a descendant that escaped its group: the stop signal, then SIGCONT (a stopped process acts
// on no signal but SIGKILL until it is continued, as systemd does), then SIGKILL once the grace
// is over, or at once when a second stop comes. Without I/O or clock: its owner says when and
// sends the signals it is told to; a service stopping processes of its own can do the same.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>

namespace pipemux {

class stop_sequence {
 public:
  using clock = std::chrono::steady_clock;

  /// The signals to send now, in this order (at most two).
  class signal_list {
   public:
    signal_list() = default;
    signal_list(int first, int second) : signals_{first, second}, count_(second == 0 ? 1 : 2) {}
    const int* begin() const noexcept { return signals_.data(); }
    const int* end() const noexcept { return signals_.data() + count_; }
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    int operator[](std::size_t i) const noexcept { return signals_[i]; }

   private:
    std::array<int, 2> signals_{};
    std::size_t count_ = 0;
  };

  /// `stop_signal` must end a process by default (stop_signal_problem); SIGKILL needs no grace.
  stop_sequence(int stop_signal, std::chrono::milliseconds grace) noexcept
      : stop_signal_(stop_signal), grace_(grace) {}

  /// The stop: the stop signal and SIGCONT now, SIGKILL when the grace ends (kill_deadline).
  /// `kill_at_once` (a terminal cancellation), a stop signal of SIGKILL, or a second stop: SIGKILL
  /// now and no deadline.
  signal_list stop(clock::time_point now, bool kill_at_once = false) noexcept;
  /// SIGKILL now (the grace is over, or no more is given), begun or not.
  signal_list kill() noexcept;

  /// What a process joining the ones stopped by this sequence gets now (one that turned up in
  /// the group, or came back to the subreaper): nothing before the stop, the stop signal and
  /// SIGCONT during the grace, SIGKILL after it.
  signal_list signals_now() const noexcept;

  bool stopping() const noexcept { return stopped_; }
  bool killed() const noexcept { return killed_; }
  /// When the grace ends: from the stop until the kill.
  std::optional<clock::time_point> kill_deadline() const noexcept;
  /// The grace has ended and SIGKILL is not sent yet.
  bool kill_due(clock::time_point now) const noexcept;

  int stop_signal() const noexcept { return stop_signal_; }
  std::chrono::milliseconds grace() const noexcept { return grace_; }

 private:
  int stop_signal_;
  std::chrono::milliseconds grace_;
  clock::time_point kill_at_{};
  bool stopped_ = false;
  bool killed_ = false;
};

}  // namespace pipemux
