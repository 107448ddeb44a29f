// Internal: blocks every signal in the calling thread for a scope, so that none of the
// parent's handlers (an Asio signal_set, say) can run in a process forked meanwhile.
#pragma once

#include <pthread.h>
#include <csignal>

namespace pipemux::detail {

class all_signals_blocked {
 public:
  all_signals_blocked() noexcept {
    sigset_t all;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~all_signals_blocked() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  all_signals_blocked(const all_signals_blocked&) = delete;
  all_signals_blocked& operator=(const all_signals_blocked&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace pipemux::detail
