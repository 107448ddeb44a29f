// How the signals that end a run (SIGINT, SIGTERM, SIGHUP) add up: the first asks the children
// to stop, a second request kills them at once, a third gives up on an output that does not
// take the log.
//
// A copy is not a request: under a wrapper that forwards signals to its child (`npm run`,
// `timeout --foreground`, concurrently), one Ctrl-C reaches pipemux twice within milliseconds,
// once from the terminal and once from the wrapper. The same signal again within copy_window
// of the last request is taken as that request; another signal, or the same one later, is a
// new request.
#pragma once

#include <chrono>

namespace pipemux::cli {

class stop_requests {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds copy_window{1000};

  enum class action {
    copy,     ///< the last request again (forwarded): nothing more to do
    stop,     ///< the first: the stop signal, SIGKILL after the grace
    kill,     ///< the second: SIGKILL now
    give_up,  ///< the third and later: stop waiting for a stalled output too
  };

  action on_signal(int sig, clock::time_point now);
  /// The signal of the first request (0: none yet): pipemux exits 128 + it.
  int first_signal() const noexcept { return first_signal_; }
  int requests() const noexcept { return requests_; }

 private:
  int first_signal_ = 0;
  int last_signal_ = 0;
  clock::time_point last_request_at_{};
  int requests_ = 0;
};

}  // namespace pipemux::cli
