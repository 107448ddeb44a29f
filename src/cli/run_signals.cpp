#include "run_signals.hpp"

#include <pthread.h>
#include <csignal>

namespace pipemux::cli {

run_signals::run_signals(boost::asio::io_context& io, handlers on)
    : stop_signals_(io, SIGINT, SIGTERM, SIGHUP),
      reopen_signal_(io, SIGUSR1, SIGUSR2),
      resize_signal_(io),
      on_(std::move(on)) {
  wait_for_stop();
  wait_for_reopen();
  if (on_.resize) {
    resize_signal_.add(SIGWINCH);  // ignored by default: nothing changes for a late one
    wait_for_resize();
  }
}

run_signals::~run_signals() {
  close();
}

void run_signals::wait_for_stop() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    // A signal read in the same batch as the end of the run must not wait again.
    if (ec || closed_) return;
    switch (requests_.on_signal(sig, stop_requests::clock::now())) {
      case stop_requests::action::copy:  // forwarded by a wrapper: the same request
        break;
      case stop_requests::action::stop:
        on_.stop(sig);
        break;
      case stop_requests::action::kill:
        on_.kill(sig);
        break;
      case stop_requests::action::give_up:
        on_.give_up(sig);
        break;
    }
    wait_for_stop();
  });
}

void run_signals::wait_for_reopen() {
  reopen_signal_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec || closed_) return;
    if (sig == SIGUSR2)
      on_.report();
    else
      on_.reopen();
    wait_for_reopen();
  });
}

void run_signals::wait_for_resize() {
  resize_signal_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || closed_) return;
    on_.resize();
    wait_for_resize();
  });
}

void run_signals::close() {
  if (closed_) return;
  closed_ = true;
  sigset_t blocked;
  ::sigemptyset(&blocked);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) ::sigaddset(&blocked, sig);
  ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  boost::system::error_code ignored;
  stop_signals_.cancel(ignored);
  reopen_signal_.cancel(ignored);
  resize_signal_.cancel(ignored);
}

}  // namespace pipemux::cli
