// Delivery: what a child writes, framed and handed over per message, per read or in batches
// (flow control: a batch holds its pipe), and the pull queue of receive().
#include <boost/asio/error.hpp>

#include <functional>

#include "supervisor/batch_builder.hpp"
#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

void supervisor_core::impl::start_reading(child_slot& c, stream_kind stream) {
  auto& channel = c.channels[static_cast<std::size_t>(stream)];
  if (!channel.reader) return;
  channel.open = true;
  if (reading_paused) channel.reader->pause();
  child_slot* slot = &c;
  impl* const owner = this;
  // The mutex once per turn of reads (up to 8), not once per read: its lock and unlock (a
  // recursive mutex: ~75 instructions) were 3% of a 32-byte raw read's cost. One for all pipes.
  if (!read_turns)
    read_turns = std::make_shared<const detail::pipe_reader::turn_wrapper>(
        guarded([](impl&, const std::function<void()>& turn) { turn(); }));
  channel.reader->start(
      // Called only inside a turn (read_turns), which keeps this state alive and holds its
      // mutex: per read, only what guarded() would check after that.
      [owner, slot, stream](log_clock::time_point t, std::string_view data) {
        if (!owner->abandoned) owner->on_output(*slot, stream, t, data);
      },
      guarded([slot, stream](impl& self, std::error_code read_error) {
        self.on_output_end(*slot, stream, read_error);
      }),
      read_turns);
}

void supervisor_core::impl::on_output(child_slot& c, stream_kind stream,
                                      log_clock::time_point arrival, std::string_view data) {
  ++c.reads;
  c.bytes += data.size();
  resume_from = c.info->index + 1;
  if (batched)
    hand_over_read(c, stream, arrival, data);
  else if (on_read)
    deliver_read(c, stream, arrival, data);
  else
    deliver_each(c, stream, arrival, data);
  // After the line that makes it ready is handed over: the report comes after it.
  if (c.probe_phase == child_slot::probing::log) watch_log(c, stream, data);
}

void supervisor_core::impl::deliver_each(child_slot& c, stream_kind stream,
                                         log_clock::time_point arrival, std::string_view data) {
  // One message per read, its piece changed for each line: copying the shared child_info
  // for every line would cost two atomic operations a line.
  message m{c.info, stream, arrival, data, piece_kind::chunk};
  split(c, stream, data, [&](std::string_view piece, piece_kind kind) {
    m.bytes = piece;
    m.kind = kind;
    deliver(c, m);
  });
}

void supervisor_core::impl::deliver(child_slot& c, const message& m) {
  ++c.messages;
  if ((!on_message && !on_read) || callback_exception || abandoned.load(std::memory_order_relaxed))
    return;
  call_user([&] {
    if (on_read)
      on_read(std::span<const message>(&m, 1));
    else
      on_message(m);
  });
}

// Whether `piece` lies in `buffer` (and not in the framer's storage of a joined line).
bool supervisor_core::impl::within(std::string_view buffer, std::string_view piece) {
  const std::less_equal<const char*> not_after;
  return not_after(buffer.data(), piece.data()) &&
         not_after(piece.data() + piece.size(), buffer.data() + buffer.size());
}

[[gnu::noinline]] void supervisor_core::impl::grow_storage(
    std::vector<message>& storage, const std::shared_ptr<const child_info>& child,
    stream_kind stream, log_clock::time_point arrival, std::string_view bytes, piece_kind kind) {
  storage.push_back(message{child, stream, arrival, bytes, kind});
}

[[gnu::noinline]] void supervisor_core::impl::set_child(
    message& m, const std::shared_ptr<const child_info>& child) {
  m.child = child;
}

// Writes message `at` of `storage`, overwriting the one a previous read left there rather
// than rebuilding it: copying the child's shared_ptr for every line (an atomic increment,
// later a decrement) cost 7% of the CLI's time.
// Inlined into each line's step (a call per line was 9% of the CLI's time); growing the
// storage and changing its child are rare, and out of line.
[[gnu::always_inline]] inline void supervisor_core::impl::put_message(
    std::vector<message>& storage, std::size_t at, const std::shared_ptr<const child_info>& child,
    stream_kind stream, log_clock::time_point arrival, std::string_view bytes, piece_kind kind) {
  if (at == storage.size()) [[unlikely]] {
    grow_storage(storage, child, stream, arrival, bytes, kind);
    return;
  }
  message& m = storage[at];
  if (m.child != child) [[unlikely]]
    set_child(m, child);
  m.stream = stream;
  m.arrival = arrival;
  m.bytes = bytes;
  m.kind = kind;
}

// async_run_per_read: the pieces of one read in one call; the pipe reads on once it returns.
void supervisor_core::impl::deliver_read(child_slot& c, stream_kind stream,
                                         log_clock::time_point arrival, std::string_view data) {
  std::size_t used = 0;
  read_copies.clear();
  const auto add = [&](std::string_view piece, piece_kind kind) {
    ++c.messages;
    const std::string_view bytes = within(data, piece) ? piece : read_copies.emplace_back(piece);
    put_message(read_messages, used++, c.info, stream, arrival, bytes, kind);
  };
  split(c, stream, data, add);
  if (used == 0 || !on_read || callback_exception || abandoned.load(std::memory_order_relaxed))
    return;
  call_user([&] { on_read(std::span<const message>(read_messages.data(), used)); });
}

// Flow control: the pieces of one read go out as one batch, as views into the read buffer,
// and the pipe is not read again until the batch ends (its hold posts release_channel).
void supervisor_core::impl::hand_over_read(child_slot& c, stream_kind stream,
                                           log_clock::time_point arrival, std::string_view data) {
  auto& channel = c.channels[static_cast<std::size_t>(stream)];
  message_batch batch;
  auto hold = std::make_shared<channel_hold>(shared_from_this(), &c, stream);
  hold->storage = take_spare_storage();
  std::size_t used = 0;
  const auto add = [&](std::string_view piece, piece_kind kind) {
    ++c.messages;
    // A line joined across reads lives in the framer, which the next read changes: copied.
    const std::string_view bytes =
        within(data, piece) ? piece : detail::batch_builder::own(batch, piece);
    put_message(hold->storage, used++, c.info, stream, arrival, bytes, kind);
  };
  split(c, stream, data, add);
  if (used == 0) {  // only part of a line: it is in the framer, read on
    give_back_storage(std::move(hold->storage));
    return;
  }
  channel.held = true;
  channel.reader->pause();
  hold->serial = ++channel.hold_serial;
  detail::batch_builder::set_messages(batch, std::span<const message>(hold->storage).first(used));
  detail::batch_builder::hold(batch, std::move(hold));
  hand_over(std::move(batch));
}

// The last line of a closed pipe, without its '\n': a batch that holds no pipe.
void supervisor_core::impl::hand_over_last(child_slot& c, stream_kind stream,
                                           std::string_view piece, piece_kind kind) {
  message_batch batch;
  auto hold = std::make_shared<channel_hold>(shared_from_this(), &c, stream);
  ++c.messages;
  hold->storage.push_back(
      message{c.info, stream, log_clock::now(), detail::batch_builder::own(batch, piece), kind});
  detail::batch_builder::set_messages(batch, hold->storage);
  detail::batch_builder::hold(batch, std::move(hold));
  hand_over(std::move(batch));
}

void supervisor_core::impl::hand_over(message_batch batch) {
  // Dropped (so released) once nobody may be called: the pipe is then read to its end.
  if (callback_exception || abandoned.load(std::memory_order_relaxed)) return;
  if (!pull) {
    call_user([&] { on_batch(std::move(batch)); });
    return;
  }
  batches.push(std::move(batch));
}

void supervisor_core::impl::receive(receiver take,
                                    std::shared_ptr<receive_cancellation> cancellation) {
  if (abandoned) return take(asio::error::operation_aborted, {});
  if (run_requested && !pull) return take(asio::error::operation_not_supported, {});
  const bool cancelled = cancellation && cancellation->requested;
  const bool another_waits = batches.has_waiting_receive();
  batches.receive(std::move(take), cancellation.get(), cancelled, state == phase::done);
  // Kept while it waits: its address identifies it to cancel_receive().
  if (!another_waits && batches.has_waiting_receive())
    waiting_cancellation = std::move(cancellation);
}

// The cancellation of a receive reached the strand: it completes now if it still waits.
void supervisor_core::impl::cancel_receive(const receive_cancellation* which) {
  batches.cancel(which);
}

// A receive was cancelled after it took `batch`, before its handler ran: the batch goes back
// first in line, for the next receive.
void supervisor_core::impl::give_back(message_batch batch) {
  if (abandoned) return;  // its hold would keep this state alive: let it go
  batches.push_front(std::move(batch));
}

// A batch ended: its pipe may be read again (unless the whole run is paused), into the
// storage it hands back.
void supervisor_core::impl::release_channel(child_slot& c, stream_kind stream, std::uint64_t serial,
                                            std::vector<message> storage) {
  auto& channel = c.channels[static_cast<std::size_t>(stream)];
  if (!channel.held || channel.hold_serial != serial) return;
  channel.held = false;
  give_back_storage(std::move(storage));
  if (channel.open && !reading_paused) channel.reader->resume();
}

std::vector<message> supervisor_core::impl::take_spare_storage() {
  if (spare_storages.empty()) return {};
  auto storage = std::move(spare_storages.back());
  spare_storages.pop_back();
  return storage;
}

void supervisor_core::impl::give_back_storage(std::vector<message> storage) {
  if (spare_storages.size() < max_spare_storages) spare_storages.push_back(std::move(storage));
}

// Delivers what the framer still holds (a last line without '\n') and marks the pipe closed.
void supervisor_core::impl::close_channel(child_slot& c, stream_kind stream) {
  auto& channel = c.channels[static_cast<std::size_t>(stream)];
  if (!channel.open) return;
  channel.open = false;
  channel.framer.finish([&](std::string_view piece, piece_kind kind) {
    if (batched)
      hand_over_last(c, stream, piece, kind);
    else
      deliver(c, message{c.info, stream, log_clock::now(), piece, kind});
  });
}

// A consumer that pauses again after one read would otherwise hear only the first children:
// reading resumes in turn, from the child after the one read last.
void supervisor_core::impl::set_reading_paused(bool paused) {
  if (paused == reading_paused) return;
  reading_paused = paused;
  const std::size_t n = children.size();
  for (std::size_t k = 0; k < n; ++k)
    for (auto& channel : children[(resume_from + k) % n]->channels) {
      if (!channel.open) continue;
      if (paused)
        channel.reader->pause();
      else if (!channel.held)
        channel.reader->resume();
    }
}

}  // namespace pipemux
