#include "supervisor/batch_queue.hpp"

#include <boost/asio/error.hpp>

namespace pipemux::detail {

void batch_queue::push(message_batch batch) {
  if (waiting_) return complete_waiting({}, std::move(batch));
  ready_.push_back(std::move(batch));
}

void batch_queue::push_front(message_batch batch) {
  if (waiting_) return complete_waiting({}, std::move(batch));
  ready_.push_front(std::move(batch));
}

void batch_queue::receive(receiver take, const void* id, bool cancelled, bool ended) {
  if (waiting_) return take(boost::asio::error::already_started, {});
  if (!ready_.empty()) {
    message_batch batch = std::move(ready_.front());
    ready_.pop_front();
    return take({}, std::move(batch));
  }
  if (ended) return take(boost::asio::error::eof, {});
  if (cancelled) return take(boost::asio::error::operation_aborted, {});
  waiting_ = std::move(take);
  waiting_id_ = id;
}

void batch_queue::cancel(const void* id) {
  if (waiting_ && waiting_id_ == id) complete_waiting(boost::asio::error::operation_aborted, {});
}

void batch_queue::answer(error_code ec) {
  if (waiting_) complete_waiting(ec, {});
}

void batch_queue::end(error_code ec) {
  if (ready_.empty()) answer(ec);
}

void batch_queue::complete_waiting(error_code ec, message_batch batch) {
  auto take = std::move(waiting_);
  waiting_ = nullptr;
  waiting_id_ = nullptr;
  take(ec, std::move(batch));
}

}  // namespace pipemux::detail
