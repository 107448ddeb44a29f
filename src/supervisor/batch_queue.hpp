// The batches of a pull run (async_run_batched without a batch handler), in arrival order, and
// the one receive that may be waiting for the next. Lives on the supervisor's strand.
#pragma once

#include <deque>
#include <functional>

#include "pipemux/error.hpp"
#include "pipemux/message_batch.hpp"

namespace pipemux::detail {

class batch_queue {
 public:
  using receiver = std::function<void(error_code, message_batch)>;

  /// A batch arrived: to the waiting receive, else last in line.
  void push(message_batch batch);
  /// A batch a cancelled receive had taken: to the waiting receive, else first in line.
  void push_front(message_batch batch);

  /// Completes `take` now with the next batch; with eof when `ended` and none is left; with
  /// already_started while another waits; with operation_aborted when `cancelled`. Else it
  /// waits, known as `id` (for cancel()).
  void receive(receiver take, const void* id, bool cancelled, bool ended);
  /// The receive known as `id` is cancelled: it completes now, if it still waits.
  void cancel(const void* id);
  /// Completes the waiting receive, if any, with `ec` and no batch.
  void answer(error_code ec);
  /// No batch comes any more: a waiting receive gets `ec` (eof, or operation_aborted) once
  /// nothing is queued.
  void end(error_code ec);

  bool has_waiting_receive() const noexcept { return static_cast<bool>(waiting_); }
  /// Drops every queued batch (their holds go with them).
  void clear() { ready_.clear(); }

 private:
  void complete_waiting(error_code ec, message_batch batch);
  std::deque<message_batch> ready_;
  receiver waiting_;
  const void* waiting_id_ = nullptr;
};

}  // namespace pipemux::detail
