#include "stop_requests.hpp"

namespace pipemux::cli {

stop_requests::action stop_requests::on_signal(int sig, clock::time_point now) {
  // Measured from the request, not from the last copy: copies cannot stretch the window.
  if (requests_ > 0 && sig == last_signal_ && now - last_request_at_ < copy_window)
    return action::copy;
  if (requests_ == 0) first_signal_ = sig;
  last_signal_ = sig;
  last_request_at_ = now;
  switch (++requests_) {
    case 1:
      return action::stop;
    case 2:
      return action::kill;
    default:
      return action::give_up;
  }
}

}  // namespace pipemux::cli
