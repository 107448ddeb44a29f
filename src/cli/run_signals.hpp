// The signals a CLI run answers: SIGINT, SIGTERM and SIGHUP ask it to stop (counted as
// stop_requests.hpp says: stop, kill, give up; a forwarded copy is no new request), SIGUSR1
// reopens the log files (logrotate), SIGUSR2 asks for the outputs' delivery report, SIGWINCH says
// pipemux's terminal was resized (for --pty). Process-wide, so the CLI's and not the library's.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <functional>

#include "stop_requests.hpp"

namespace pipemux::cli {

class run_signals {
 public:
  struct handlers {
    std::function<void(int sig)> stop;     ///< the first request
    std::function<void(int sig)> kill;     ///< the second
    std::function<void(int sig)> give_up;  ///< the third and later
    std::function<void()> reopen;          ///< SIGUSR1
    std::function<void()> report;          ///< SIGUSR2
    std::function<void()> resize;          ///< SIGWINCH; not listened to when empty
  };

  run_signals(boost::asio::io_context& io, handlers on);
  /// Blocks them all (see close()).
  ~run_signals();
  run_signals(const run_signals&) = delete;
  run_signals& operator=(const run_signals&) = delete;

  /// The run is over: no handler is called from now on, and these signals are blocked until
  /// the process exits: a late one waits instead of killing it by its default action once the
  /// signal sets are gone.
  void close();

 private:
  void wait_for_stop();
  void wait_for_reopen();  // and the report (SIGUSR2)
  void wait_for_resize();

  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set reopen_signal_;
  boost::asio::signal_set resize_signal_;  // empty unless on_.resize
  stop_requests requests_;
  handlers on_;
  bool closed_ = false;
};

}  // namespace pipemux::cli
