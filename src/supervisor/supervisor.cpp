#include "pipemux/supervisor.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/system_error.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>

#include "pipemux/name_escape.hpp"
#include "pipemux/stop_signal.hpp"
#include "process/child_environment.hpp"
#include "process/child_process.hpp"
#include "process/executable_lookup.hpp"
#include "process/orphan_guard.hpp"
#include "process/pipe_reader.hpp"
#include "process/pseudo_terminal.hpp"
#include "process/run_cgroup.hpp"
#include "process/unique_fd.hpp"
#include "supervisor/batch_builder.hpp"
#include "supervisor/batch_queue.hpp"
#include "supervisor/cgroup_leftovers.hpp"
#include "supervisor/child_launch.hpp"
#include "supervisor/child_lifecycle.hpp"
#include "supervisor/child_slot.hpp"

extern char** environ;

namespace pipemux {
namespace asio = boost::asio;
using detail::child_slot;
using detail::supervisor_core;
using steady = std::chrono::steady_clock;

namespace {

std::shared_ptr<const child_info> with_pid(const child_info& info, int pid) {
  return std::make_shared<const child_info>(child_info{info.name, info.index, info.instance, pid});
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
  }
  return out;
}

std::string stop_reason(int sig) {
  std::string text = signal_name(sig);
  if (sig == SIGTTIN) text += " (it read from a terminal where it runs in the background)";
  if (sig == SIGTTOU) text += " (it wrote to or set a terminal where it runs in the background)";
  return text;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:.3g} s", std::chrono::duration<double>(ms).count());
}

}  // namespace

struct supervisor_core::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, run_options opts)
      : executor(std::move(ex)),
        strand(asio::make_strand(executor)),
        options(opts),
        grace_timer(strand),
        job_control_timer(strand),
        leftovers_timer(strand) {}

  enum class phase { idle, running, stopping, killing, done };

  asio::any_io_executor executor;  // the caller's
  asio::any_io_executor strand;    // every handler below runs here
  run_options options;
  message_handler on_message;
  read_handler on_read;
  batch_handler on_batch;
  bool batched = false;         // output goes out in batches that hold their pipe (flow control)
  bool pull = false;            // batched, waiting in `ready` for receive()
  detail::batch_queue batches;  // pull: waiting for receive()
  // async_run_per_read: the messages of the read being handed over (overwritten from read to
  // read), and copies of the pieces that are not in the read buffer (lines joined across
  // reads live in the framer, which the read changes).
  std::vector<message> read_messages;
  std::deque<std::string> read_copies;
  event_handler on_event;
  completion on_complete;
  std::vector<program_spec> programs;
  std::vector<std::unique_ptr<const detail::program_environment>> environments;  // by program
  std::vector<std::unique_ptr<child_slot>> children;
  phase state = phase::idle;
  std::size_t next_to_spawn = 0;  // children before it have been started (or tried)
  bool run_requested = false;     // async_run was called: one run per supervisor
  bool stop_requested = false;
  std::atomic<bool> stop_pending{false};  // stop() was called and its handler may not have run
  bool caller_stopped = false;            // stop() or cancellation, not stop_on
  std::optional<std::size_t> ended_by;    // the child whose end ended the run (stop_on)
  std::exception_ptr callback_exception;  // on_message or on_event threw: no more calls
  bool reading_paused = false;            // flow control: the consumer is not taking output
  std::size_t resume_from = 0;            // the child after the one read last (round robin)
  std::atomic<bool> abandoned{false};     // the supervisor is gone: call nobody
  std::atomic<bool> run_claimed{false};   // async_run was accepted once (claim_run)
  // Held by every handler on the strand while it runs: the destructor takes it to wait for a
  // handler (and the callback it makes) running on another thread, and to kill the children
  // where the strand may never run again. Recursive: a callback may call stop() or destroy the
  // supervisor from inside, on this thread.
  std::recursive_mutex mutex;
  // Callbacks being called (nested: a callback may stop the run); finish() retires the
  // callbacks rather than destroy one that is running: they go when the outermost returns.
  std::size_t calls_running = 0;
  struct callbacks {
    message_handler on_message;
    read_handler on_read;
    batch_handler on_batch;
    event_handler on_event;
  };
  std::optional<callbacks> retired;
  std::shared_ptr<receive_cancellation> waiting_cancellation;  // of the waiting receive
  asio::steady_timer grace_timer;
  asio::steady_timer job_control_timer;  // looks for stopped children: no SIGCHLD for a library
  detail::orphan_guard guard;
  bool guard_loss_reported = false;
  std::unique_ptr<detail::run_cgroup> cgroup;  // run_options::cgroup, when there is one
  std::string no_cgroup_reason;                // why there is none
  // Once every child is finished, processes left in the cgroup are stopped (leftovers).
  enum class leftovers_phase { not_yet, stopping, done } leftovers = leftovers_phase::not_yet;
  asio::steady_timer leftovers_timer;
  std::optional<detail::cgroup_leftovers> leftovers_stop;  // while `leftovers` is stopping

  // Wraps a handler so that it runs only while the supervisor exists.
  template <class Fn>
  auto guarded(Fn fn) {
    return [weak = weak_from_this(), fn = std::move(fn)](auto&&... args) {
      auto self = weak.lock();
      if (!self) return;
      const std::lock_guard lock(self->mutex);
      if (!self->abandoned) fn(*self, std::forward<decltype(args)>(args)...);
    };
  }

  // Every callback is called through here. One that throws stops the run; one that ends the
  // run (stop(), the destructor) is not destroyed while it runs (see `retired`).
  template <class Call>
  void call_user(Call&& call) {
    struct nesting {
      impl& self;
      explicit nesting(impl& s) : self(s) { ++self.calls_running; }
      ~nesting() {
        if (--self.calls_running == 0) self.retired.reset();
      }
    } const scope(*this);
    try {
      call();
    } catch (...) {
      callback_threw(std::current_exception());
    }
  }

  // Neither this nor deliver() calls anybody once the destructor has begun, even from inside
  // a loop over pieces of one read.
  void emit(child_event_kind kind, const child_slot& c, std::string detail = {},
            std::chrono::nanoseconds run_time = {}) {
    if (!on_event || callback_exception || abandoned.load(std::memory_order_relaxed)) return;
    call_user([&] {
      on_event(child_event{kind, c.info, c.life.status(), run_time, std::move(detail)});
    });
  }

  void run() {
    state = phase::running;
    std::size_t index = 0;
    for (std::size_t p = 0; p < programs.size(); ++p)
      for (std::size_t i = 0; i < programs[p].instances; ++i) {
        auto c = std::make_unique<child_slot>(strand, programs[p], p, options);
        c->info = std::make_shared<const child_info>(child_info{programs[p].name, index++, i, -1});
        children.push_back(std::move(c));
      }
    environments.resize(programs.size());
    if (options.cgroup != cgroup_mode::off && !children.empty())
      cgroup = detail::run_cgroup::create(no_cgroup_reason);
    if (options.die_with_parent && (options.own_process_group || cgroup) && !children.empty())
      guard.start(children.size(), cgroup.get());
    watch_job_control();
    spawn_next();
  }

  // A child stopped by SIGTTIN (it read from a terminal where it is in the background) or by
  // SIGSTOP makes no output and no noise: say so, once a second at most.
  void watch_job_control() {
    job_control_timer.expires_after(std::chrono::seconds(1));
    job_control_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
      if (ec || self.state == phase::done) return;
      for (auto& c : self.children) {
        if (!c->process || c->life.finished()) continue;
        if (const auto change = c->process->poll_job_control()) {
          if (change->stopped)
            self.emit(child_event_kind::stopped, *c, stop_reason(change->signal));
          else
            self.emit(child_event_kind::continued, *c);
        }
      }
      self.watch_job_control();
    }));
  }

  // Children are started one per handler, so that the output of those already running is read
  // (and stamped) between two forks: starting a thousand takes a second, and a stop or a
  // message must not wait for all of them.
  void spawn_next() {
    if (next_to_spawn < children.size()) {
      // A stop() from another handler may be queued behind this one: it is seen here already.
      if (state == phase::running && !stop_pending.load(std::memory_order_relaxed)) {
        spawn(*children[next_to_spawn++]);
        if (next_to_spawn < children.size())
          asio::post(strand, guarded([](impl& self) { self.spawn_next(); }));
      } else {
        never_spawn_the_rest();
      }
    }
    complete_if_all_finished();
  }

  void never_spawn_the_rest() {
    for (; next_to_spawn < children.size(); ++next_to_spawn)
      children[next_to_spawn]->life.never_runs();
  }

  // Starts (or restarts) the child's process. On failure the child is finished for good.
  void spawn(child_slot& c) {
    for (auto& channel : c.channels) channel.reader.reset();  // those of a previous run
    std::string why;
    auto launched = detail::launch_child(strand, *c.program, *c.info, environment_of(c), options,
                                         {cgroup.get(), &no_cgroup_reason}, why);
    if (!launched) return fail_spawn(c, std::move(why));
    c.process = std::move(launched->process);
    for (std::size_t stream = 0; stream < c.channels.size(); ++stream)
      c.channels[stream].reader = std::move(launched->readers[stream]);
    c.info = with_pid(*c.info, c.process->pid());
    c.life.started();
    c.spawn_error.clear();
    c.started_at = steady::now();
    if (options.own_process_group && !guard.add(c.info->pid)) report_guard_lost(c);
    emit(child_event_kind::started, c, join_argv(c.program->argv));
    for (auto stream : {stream_kind::out, stream_kind::err}) start_reading(c, stream);
    child_slot* slot = &c;
    c.process->async_wait(guarded([slot](impl& self, std::error_code wait_error, int status) {
      self.on_exited(*slot, wait_error, status);
    }));
  }

  // Built at the first start of one of the program's children, from the environment as it is
  // then, and shared by its children and their restarts.
  const detail::program_environment& environment_of(const child_slot& c) {
    auto& environment = environments[c.program_index];
    if (!environment)
      environment = std::make_unique<const detail::program_environment>(*c.program, environ,
                                                                        options.unbuffered_env);
    return *environment;
  }

  void start_reading(child_slot& c, stream_kind stream) {
    auto& channel = c.channels[static_cast<std::size_t>(stream)];
    if (!channel.reader) return;
    channel.open = true;
    if (reading_paused) channel.reader->pause();
    child_slot* slot = &c;
    channel.reader->start(
        guarded([slot, stream](impl& self, log_clock::time_point t, std::string_view data) {
          self.on_output(*slot, stream, t, data);
        }),
        guarded([slot, stream](impl& self, std::error_code read_error) {
          self.on_output_end(*slot, stream, read_error);
        }));
  }

  // Said once: from now on a SIGKILL of this process would leave the children's groups alive.
  void report_guard_lost(const child_slot& c) {
    if (!guard.lost() || guard_loss_reported) return;
    guard_loss_reported = true;
    emit(child_event_kind::guard_lost, c, guard.loss_description());
  }

  void fail_spawn(child_slot& c, std::string why) {
    c.info = with_pid(*c.info, -1);  // not the pid of an earlier run
    c.spawn_error = std::move(why);
    c.life.never_runs();
    emit(child_event_kind::spawn_failed, c, c.spawn_error);
    if (state == phase::running && options.stop_on != stop_condition::all_done)
      stop_others(c, "could not be started");
  }

  void on_output(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                 std::string_view data) {
    ++c.reads;
    c.bytes += data.size();
    resume_from = c.info->index + 1;
    if (batched) return hand_over_read(c, stream, arrival, data);
    if (on_read) return deliver_read(c, stream, arrival, data);
    // One message per read, its piece changed for each line: copying the shared child_info
    // for every line would cost two atomic operations a line.
    message m{c.info, stream, arrival, data, piece_kind::chunk};
    split(c, stream, data, [&](std::string_view piece, piece_kind kind) {
      m.bytes = piece;
      m.kind = kind;
      deliver(c, m);
    });
  }

  // Hands `add` each piece of a read: the whole read in raw mode, else what the framer cuts.
  template <class Add>
  void split(child_slot& c, stream_kind stream, std::string_view data, Add&& add) {
    if (options.framing == framing_mode::raw)
      add(data, piece_kind::chunk);
    else
      c.channels[static_cast<std::size_t>(stream)].framer.feed(data, add);
  }

  void deliver(child_slot& c, const message& m) {
    ++c.messages;
    if ((!on_message && !on_read) || callback_exception ||
        abandoned.load(std::memory_order_relaxed))
      return;
    call_user([&] {
      if (on_read)
        on_read(std::span<const message>(&m, 1));
      else
        on_message(m);
    });
  }

  // Whether `piece` lies in `buffer` (and not in the framer's storage of a joined line).
  static bool within(std::string_view buffer, std::string_view piece) {
    const std::less_equal<const char*> not_after;
    return not_after(buffer.data(), piece.data()) &&
           not_after(piece.data() + piece.size(), buffer.data() + buffer.size());
  }

  // Writes message `at` of `storage`, overwriting the one a previous read left there rather
  // than rebuilding it: copying the child's shared_ptr for every line (an atomic increment,
  // later a decrement) cost 7% of the CLI's time.
  static void put_message(std::vector<message>& storage, std::size_t at,
                          const std::shared_ptr<const child_info>& child, stream_kind stream,
                          log_clock::time_point arrival, std::string_view bytes, piece_kind kind) {
    if (at == storage.size()) {
      storage.push_back(message{child, stream, arrival, bytes, kind});
      return;
    }
    message& m = storage[at];
    if (m.child != child) m.child = child;
    m.stream = stream;
    m.arrival = arrival;
    m.bytes = bytes;
    m.kind = kind;
  }

  // async_run_per_read: the pieces of one read in one call; the pipe reads on once it returns.
  void deliver_read(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                    std::string_view data) {
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
  void hand_over_read(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                      std::string_view data) {
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
  void hand_over_last(child_slot& c, stream_kind stream, std::string_view piece, piece_kind kind) {
    message_batch batch;
    auto hold = std::make_shared<channel_hold>(shared_from_this(), &c, stream);
    ++c.messages;
    hold->storage.push_back(
        message{c.info, stream, log_clock::now(), detail::batch_builder::own(batch, piece), kind});
    detail::batch_builder::set_messages(batch, hold->storage);
    detail::batch_builder::hold(batch, std::move(hold));
    hand_over(std::move(batch));
  }

  void hand_over(message_batch batch) {
    // Dropped (so released) once nobody may be called: the pipe is then read to its end.
    if (callback_exception || abandoned.load(std::memory_order_relaxed)) return;
    if (!pull) {
      call_user([&] { on_batch(std::move(batch)); });
      return;
    }
    batches.push(std::move(batch));
  }

  void receive(receiver take, std::shared_ptr<receive_cancellation> cancellation) {
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
  void cancel_receive(const receive_cancellation* which) { batches.cancel(which); }

  // A receive was cancelled after it took `batch`, before its handler ran: the batch goes back
  // first in line, for the next receive.
  void give_back(message_batch batch) {
    if (abandoned) return;  // its hold would keep this state alive: let it go
    batches.push_front(std::move(batch));
  }

  // A batch ended: its pipe may be read again (unless the whole run is paused), into the
  // storage it hands back.
  void release_channel(child_slot& c, stream_kind stream, std::uint64_t serial,
                       std::vector<message> storage) {
    auto& channel = c.channels[static_cast<std::size_t>(stream)];
    if (!channel.held || channel.hold_serial != serial) return;
    channel.held = false;
    give_back_storage(std::move(storage));
    if (channel.open && !reading_paused) channel.reader->resume();
  }

  // Message storage of released batches, shared by all pipes and kept for a few only: one
  // each would grow to a read's worth of messages (up to ~500 KiB for short lines) per pipe,
  // which for a thousand children is far more than their read buffers.
  std::vector<std::vector<message>> spare_storages;
  static constexpr std::size_t max_spare_storages = 4;

  std::vector<message> take_spare_storage() {
    if (spare_storages.empty()) return {};
    auto storage = std::move(spare_storages.back());
    spare_storages.pop_back();
    return storage;
  }

  void give_back_storage(std::vector<message> storage) {
    if (spare_storages.size() < max_spare_storages) spare_storages.push_back(std::move(storage));
  }

  // Kept by a batch: the supervisor's state (the read buffer) lives as long as the batch, and
  // the batch's end lets its pipe be read again.
  struct channel_hold {
    channel_hold(std::shared_ptr<impl> s, child_slot* c, stream_kind k)
        : self(std::move(s)), slot(c), stream(k) {}
    channel_hold(const channel_hold&) = delete;
    channel_hold& operator=(const channel_hold&) = delete;
    ~channel_hold() {
      if (serial == 0 || self->abandoned) return;
      try {
        asio::post(self->strand, [self = self, slot = slot, stream = stream, serial = serial,
                                  storage = std::move(storage)]() mutable {
          const std::lock_guard lock(self->mutex);
          if (!self->abandoned) self->release_channel(*slot, stream, serial, std::move(storage));
        });
      } catch (...) {  // out of memory: that pipe stays paused; nothing better to do here
      }
    }
    std::shared_ptr<impl> self;
    child_slot* slot;
    stream_kind stream;
    std::uint64_t serial = 0;      // 0: holds no pipe (the last line of a closed one)
    std::vector<message> storage;  // the batch's messages
  };

  // A callback that throws would end a read loop half way and hang the run: instead the run
  // is stopped (its output still read, and dropped) and completes with the exception.
  void callback_threw(std::exception_ptr e) {
    callback_exception = std::move(e);
    stop();
  }

  void on_output_end(child_slot& c, stream_kind stream, std::error_code read_error) {
    // A pseudo-terminal says EIO, not EOF, once nobody holds its other side.
    if (c.program->pty && read_error == std::errc::io_error) read_error.clear();
    close_channel(c, stream);
    if (read_error)
      emit(child_event_kind::output_abandoned, c,
           "reading its output failed: " + read_error.message());
    maybe_finish_run(c);
  }

  // Delivers what the framer still holds (a last line without '\n') and marks the pipe closed.
  void close_channel(child_slot& c, stream_kind stream) {
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

  void on_exited(child_slot& c, std::error_code wait_error, int wait_status) {
    c.exited_at = steady::now();
    if (wait_error) {
      // Someone else reaped it (SIGCHLD ignored, or waitpid(-1) in the host): status unknown.
      exit_status unknown;
      unknown.code = -1;
      c.life.reaped(unknown);
      emit(child_event_kind::output_abandoned, c,
           "cannot wait for the child: " + wait_error.message());
    } else {
      exit_status status = exit_status::from_wait_status(wait_status);
      const auto& codes = c.program->success_codes;
      status.listed_success =
          !status.signaled && std::find(codes.begin(), codes.end(), status.code) != codes.end();
      c.life.reaped(status);
    }
    if (c.any_channel_open()) arm_drain_timer(c);
    maybe_finish_run(c);
  }

  // The child is gone but its pipes are open. Output that still flows is read to the end, however
  // long that takes; a pipe is abandoned only when a whole grace period passed with nothing
  // written to it and nothing left in it: then something else (a background grandchild)
  // holds it open, and may for ever.
  void arm_drain_timer(child_slot& c) {
    c.reads_at_drain_check = c.reads;
    c.drain_timer.expires_after(grace_of(c));
    child_slot* slot = &c;
    c.drain_timer.async_wait(guarded([slot](impl& self, boost::system::error_code ec) {
      if (ec || !slot->any_channel_open()) return;
      // Judged only while the pipe is being read: while the consumer holds output back, the
      // run waits for it anyway.
      using verdict = detail::child_lifecycle::drain_verdict;
      if (detail::child_lifecycle::judge_drain(self.reading_paused, slot->any_channel_held(),
                                               slot->output_flowing_since_last_check()) ==
          verdict::wait_again)
        self.arm_drain_timer(*slot);
      else
        self.abandon_output(*slot);
    }));
  }

  void abandon_output(child_slot& c) {
    for (auto stream : {stream_kind::out, stream_kind::err}) {
      auto& channel = c.channels[static_cast<std::size_t>(stream)];
      if (channel.open) channel.reader->close();
      close_channel(c, stream);
    }
    emit(child_event_kind::output_abandoned, c,
         std::string(c.program->pty ? "its terminal" : "its output pipe") +
             " is still open but nothing was written to it for " + seconds_text(grace_of(c)) +
             " after the child exited (another process holds it open): closed");
    maybe_finish_run(c);  // kills the group that held it
  }

  // The current run ends once the process is reaped and its pipes are closed. Whatever is
  // left in its process group then is an orphan of that run and is killed, as systemd does
  // with a service's control group.
  void maybe_finish_run(child_slot& c) {
    if (c.life.finished() || c.life.restart_pending() || !c.life.status() || c.any_channel_open())
      return;
    c.drain_timer.cancel();
    if (options.own_process_group) {
      if (c.process->signal(SIGKILL, true)) emit(child_event_kind::leftovers_killed, c);
      if (!guard.remove(c.info->pid)) report_guard_lost(c);
    }
    emit(child_event_kind::exited, c, {}, c.exited_at - c.started_at);
    const detail::run_end end = c.life.run_over(state == phase::running);
    if (end.restart) return schedule_restart(c, end);
    if (end.stops_the_others) stop_others(c, describe(*c.life.status()));
    complete_if_all_finished();
  }

  void schedule_restart(child_slot& c, const detail::run_end& end) {
    c.restart_timer.expires_after(end.delay);
    child_slot* slot = &c;
    c.restart_timer.async_wait(guarded([slot](impl& self, boost::system::error_code ec) {
      // A stop() queued behind this handler cancels the restart when it runs.
      if (ec || self.stop_pending.load(std::memory_order_relaxed) || !slot->life.restart_due())
        return;
      self.spawn(*slot);
      self.complete_if_all_finished();
    }));
    // After the timer is set: a stop() from inside on_event cancels it.
    emit(child_event_kind::restarting, c,
         fmt::format("it {}; attempt {} of {} in {}", describe(*c.life.status()), end.attempt,
                     options.restart.max_restarts, seconds_text(end.delay)));
  }

  void stop_others(child_slot& c, const std::string& why) {
    emit(child_event_kind::stopping_others, c, why + ": stopping the other children");
    if (!ended_by) ended_by = c.info->index;
    stop();
  }

  void complete_if_all_finished() {
    if (state == phase::done || state == phase::idle) return;
    for (const auto& c : children)
      if (!c->life.finished()) return;
    if (cgroup && leftovers != leftovers_phase::done) {
      if (leftovers == leftovers_phase::not_yet) stop_leftovers();
      return;
    }
    complete();
  }

  // Every child is finished, but what they started may still run in the cgroup (a daemon, a
  // `setsid` job): stopped like a child (see cgroup_leftovers).
  void stop_leftovers() {
    leftovers = leftovers_phase::stopping;
    std::vector<detail::cgroup_leftovers::target> targets;
    for (const auto& c : children)
      targets.push_back({c->info->index, c->life.policy().stop_signal, c->life.policy().grace});
    leftovers_stop.emplace(*cgroup, targets);
    if (leftovers_stop->begin(steady::now()) == detail::cgroup_leftovers::next::done)
      return finish_leftovers();
    watch_leftovers();
  }

  void watch_leftovers() {
    leftovers_timer.expires_after(detail::cgroup_leftovers::poll_interval);
    leftovers_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
      if (ec || self.leftovers != leftovers_phase::stopping) return;
      std::vector<detail::cgroup_leftovers::report> reports;
      const auto next = self.leftovers_stop->tick(steady::now(), reports);
      self.emit_leftovers(reports);
      if (next == detail::cgroup_leftovers::next::done) return self.finish_leftovers();
      self.watch_leftovers();
    }));
  }

  void kill_leftovers() {
    std::vector<detail::cgroup_leftovers::report> reports;
    leftovers_stop->kill_now(reports);
    emit_leftovers(reports);
    finish_leftovers();  // the cgroup's teardown waits for them to be gone
  }

  void emit_leftovers(const std::vector<detail::cgroup_leftovers::report>& reports) {
    for (const auto& report : reports)
      emit(report.kind, *children[report.child_index], report.detail);
  }

  void finish_leftovers() {
    leftovers = leftovers_phase::done;
    leftovers_timer.cancel();
    complete();
  }

  // Kills what may be left in the cgroup and removes it. Idempotent: after the guard did it,
  // this finds nothing to do.
  void remove_cgroup() {
    if (!cgroup) return;
    detail::teardown_run_cgroup(cgroup->parent_fd(), cgroup->name(), cgroup->directory_fd(),
                                children.size());
    cgroup.reset();
  }

  void complete() {
    state = phase::done;
    grace_timer.cancel();
    job_control_timer.cancel();
    guard.finish();
    remove_cgroup();  // in case there was no guard, or it was killed
    run_summary summary = summarize();
    error_code ec;
    if (callback_exception && !abandoned)
      ec = errc::callback_threw;
    else if (abandoned || caller_stopped)  // the destructor, stop() or a cancellation
      ec = asio::error::operation_aborted;
    else if (summary.any_spawn_failed())
      ec = errc::spawn_failed;
    else if (summary.any_failed())
      ec = errc::child_failed;
    finish(ec, std::move(summary));
  }

  run_summary summarize() const {
    run_summary summary;
    summary.stopped = stop_requested;
    summary.ended_by = ended_by;
    summary.callback_exception = callback_exception;
    for (const auto& c : children)
      summary.children.push_back(child_summary{*c->info, c->messages, c->bytes, c->life.status(),
                                               c->spawn_error, c->life.restarts(),
                                               c->life.stop_sent()});
    return summary;
  }

  // Hands the outcome over, once (posted: see initiate_run); the callbacks are dropped first.
  void finish(error_code ec, run_summary summary) {
    state = phase::done;
    auto done = std::move(on_complete);
    on_complete = nullptr;
    drop_callbacks();
    // No batch comes after this: a receiver waiting for one gets the end.
    batches.end(abandoned ? error_code(asio::error::operation_aborted)
                          : error_code(asio::error::eof));
    if (done) done(ec, std::move(summary));
  }

  // What they capture is released now, or, when one of them is running (it stopped the run),
  // once it has returned.
  void drop_callbacks() {
    callbacks dropped{std::move(on_message), std::move(on_read), std::move(on_batch),
                      std::move(on_event)};
    on_message = nullptr;
    on_read = nullptr;
    on_batch = nullptr;
    on_event = nullptr;
    if (calls_running > 0 && !retired) retired.emplace(std::move(dropped));
  }

  // stop() from the caller (or a cancellation): the run then ends with operation_aborted.
  void stop_by_caller(bool kill_at_once) {
    if (state != phase::done) caller_stopped = true;
    stop(kill_at_once);
  }

  // `kill_at_once` (a terminal cancellation): SIGKILL instead of the stop signal, no grace.
  void stop(bool kill_at_once = false) {
    if (abandoned) return;       // the children are dead already (kill_children_now)
    if (state == phase::idle) {  // before start(): it will start nothing
      stop_requested = true;
      return;
    }
    if (state == phase::done) return;
    if (leftovers == leftovers_phase::stopping) {  // the children are done; what they left is not
      stop_requested = true;
      kill_leftovers();
      return;
    }
    if (state == phase::stopping || state == phase::killing) {
      escalate();  // a second stop: no more grace
      return;
    }
    stop_requested = true;
    state = phase::stopping;
    never_spawn_the_rest();
    const auto now = steady::now();
    for (auto& c : children) {
      if (!c->process) continue;  // never started (a pending restart had a run before)
      const detail::stop_order order =
          c->life.stop(now, !c->process->reaped(), c->any_channel_open(), kill_at_once);
      if (order.what == detail::stop_order::kind::cancel_restart) c->restart_timer.cancel();
      if (order.what != detail::stop_order::kind::signal) continue;
      c->process->signal(order.signal, true);
      // A stopped process acts on no signal but SIGKILL until continued (as systemd does).
      if (order.signal != SIGKILL) c->process->signal(SIGCONT, true);
    }
    if (kill_at_once)
      state = phase::killing;
    else
      wait_for_next_grace_to_end();
    complete_if_all_finished();
  }

  // Each child has its own program's grace: the timer wakes for the first one to end.
  void wait_for_next_grace_to_end() {
    std::optional<steady::time_point> next;
    for (const auto& c : children)
      if (const auto deadline = c->life.kill_deadline(); c->process && deadline)
        if (!next || *deadline < *next) next = deadline;
    if (!next) return;
    grace_timer.expires_at(*next);
    grace_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
      if (!ec) self.kill_those_out_of_grace();
    }));
  }

  void kill_those_out_of_grace() {
    if (state != phase::stopping) return;
    const auto now = steady::now();
    for (auto& c : children)
      if (c->process && c->life.grace_over(now))
        kill_now(*c, "still running after the grace period: sent SIGKILL");
    wait_for_next_grace_to_end();
  }

  // Its grace is over, or there is no more grace for anyone; `why` says which, for the log.
  void kill_now(child_slot& c, const char* why) {
    if (!c.process->reaped()) emit(child_event_kind::stop_escalated, c, why);
    c.process->signal(SIGKILL, true);
    c.life.killed();
  }

  static std::chrono::milliseconds grace_of(const child_slot& c) { return c.life.policy().grace; }

  void escalate() {
    if (state == phase::done || state == phase::killing) return;
    state = phase::killing;
    grace_timer.cancel();
    for (auto& c : children)
      if (c->process && !c->life.finished())
        kill_now(*c, "asked to stop a second time before its grace was over: sent SIGKILL");
  }

  // A consumer that pauses again after one read would otherwise hear only the first children:
  // reading resumes in turn, from the child after the one read last.
  void set_reading_paused(bool paused) {
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

  // The supervisor is being destroyed, on whatever thread, with the strand perhaps never to
  // run again (io.stop()), or from inside a callback: kills and reaps every child here and
  // now, without calling anybody and without touching what a handler in progress uses (the
  // rest is abandon(), on the strand). Called with `mutex` held. Waits reap_wait at most
  // (a process in uninterruptible sleep), plus the guard's own orphan_guard::finish_wait.
  static constexpr std::chrono::milliseconds reap_wait{1000};
  void kill_children_now() noexcept {
    for (auto& c : children)
      if (c->process) c->process->signal(SIGKILL, true);  // the group too, reaped or not
    if (cgroup) cgroup->kill();
    // Kills the groups still registered; before the reaping below, while each group's leader
    // (a zombie at worst) keeps its number from being reused.
    guard.finish();
    const auto deadline = steady::now() + reap_wait;
    for (auto& c : children)
      if (c->process) c->process->kill_and_reap(deadline);
  }

  // The rest of the destructor's work, on the strand: no more callbacks, nothing left open.
  void abandon() {
    grace_timer.cancel();
    job_control_timer.cancel();
    for (auto& c : children) {
      c->drain_timer.cancel();
      c->restart_timer.cancel();
      for (auto& channel : c->channels)
        if (channel.reader) channel.reader->close();
    }
    leftovers_timer.cancel();
    guard.finish();
    remove_cgroup();
    // Batches waiting for receive() hold this state: let them go (they release nothing now).
    batches.clear();
    // As an Asio I/O object does with its pending operations (the completion is posted).
    stop_requested = true;
    finish(asio::error::operation_aborted, summarize());
  }
};

supervisor_core::supervisor_core(asio::any_io_executor executor, run_options options) {
  if (options.read_size == 0 || options.read_size > limits::max_read_size)
    throw std::invalid_argument("pipemux::supervisor: read_size must be between 1 and " +
                                std::to_string(limits::max_read_size));
  if (options.max_line == 0 || options.max_line > limits::max_line)
    throw std::invalid_argument("pipemux::supervisor: max_line must be between 1 and " +
                                std::to_string(limits::max_line));
  if (options.stop_signal <= 0 || options.stop_signal >= NSIG)
    throw std::invalid_argument("pipemux::supervisor: stop_signal is not a signal");
  if (const std::string problem = stop_signal_problem(options.stop_signal); !problem.empty())
    throw std::invalid_argument("pipemux::supervisor: stop_signal: " + problem);
  impl_ = std::make_shared<impl>(std::move(executor), options);
}

// What the CLI and the config refuse, refused here too for a program_spec built in code: a name
// tells the children apart. Its bytes are not judged: the CLI names a program after the file it
// runs, which may hold a newline, and everything pipemux prints escapes names (name_escape.hpp).
void supervisor_core::check_programs(const std::vector<program_spec>& programs) {
  std::set<std::string_view> names;
  for (const auto& p : programs) {
    const std::string which = "pipemux::supervisor: program '" + escaped_name(p.name) + "': ";
    if (p.name.empty()) throw std::invalid_argument("pipemux::supervisor: a program has no name");
    if (!names.insert(p.name).second)
      throw std::invalid_argument(which + "the name is given twice: names must be unique");
    if (p.stop_signal) {
      if (*p.stop_signal <= 0 || *p.stop_signal >= NSIG)
        throw std::invalid_argument(which +
                                    fmt::format("stop_signal {} is not a signal", *p.stop_signal));
      if (const std::string problem = stop_signal_problem(*p.stop_signal); !problem.empty())
        throw std::invalid_argument(fmt::format("{}stop_signal: {}", which, problem));
    }
    if (p.stop_grace && p.stop_grace->count() < 0)
      throw std::invalid_argument(which + "stop_grace is negative");
  }
}

// As Process v2's async_execute maps them, the mildest type asked for winning: partial (a
// graceful stop) over terminal (SIGKILL); total alone is not supported (a stop has side effects).
void supervisor_core::cancel_run(const std::weak_ptr<impl>& weak, asio::cancellation_type type) {
  using asio::cancellation_type;
  if ((type & cancellation_type::partial) != cancellation_type::none)
    stop(weak, false);
  else if ((type & cancellation_type::terminal) != cancellation_type::none)
    stop(weak, true);
}

supervisor_core::~supervisor_core() {
  abandon_run();
}

supervisor_core& supervisor_core::operator=(supervisor_core&& other) noexcept {
  if (this != &other) {
    abandon_run();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

// The children are killed and reaped here, whatever the io_context does; what belongs to the
// strand (timers, pipes, the completion) is posted to it, so that nothing a running handler
// uses goes away under it.
void supervisor_core::abandon_run() noexcept {
  if (!impl_) return;  // moved from
  const std::shared_ptr<impl> self = std::move(impl_);
  self->abandoned = true;  // a callback running elsewhere makes no further call
  {
    // Waits for a handler running on another thread (and its callback) to return.
    const std::lock_guard lock(self->mutex);
    self->kill_children_now();
  }
  try {
    asio::post(self->strand, [self] {
      const std::lock_guard lock(self->mutex);
      self->abandon();
    });
  } catch (...) {  // out of memory: the children are gone; the rest goes with `self`
  }
}

void supervisor_core::start(std::vector<program_spec> programs, output_consumer output,
                            event_handler on_event, completion on_complete) {
  // Posted, never dispatched: nothing (a fork, an event, the completion) may happen inside
  // async_run, even when it is called from a handler running on this io_context.
  asio::post(impl_->strand,
             [self = impl_, programs = std::move(programs), output = std::move(output),
              on_event = std::move(on_event), on_complete = std::move(on_complete)]() mutable {
               const std::lock_guard lock(self->mutex);
               if (self->run_requested || self->abandoned) {  // a second run, or too late
                 on_complete(self->run_requested ? error_code(errc::already_started)
                                                 : error_code(asio::error::operation_aborted),
                             run_summary{});
                 return;
               }
               self->run_requested = true;
               self->programs = std::move(programs);
               self->on_message = std::move(output.on_message);
               self->on_read = std::move(output.on_read);
               self->on_batch = std::move(output.on_batch);
               self->batched = output.batched;
               self->pull = output.pull;
               if (!self->pull)  // a receive before a push run
                 self->batches.answer(asio::error::operation_not_supported);
               self->on_event = std::move(on_event);
               self->on_complete = std::move(on_complete);
               if (self->stop_requested)
                 self->complete();  // stopped before it started
               else
                 self->run();
             });
}

void supervisor_core::receive(receiver take, std::shared_ptr<receive_cancellation> cancellation) {
  asio::post(impl_->strand, [self = impl_, take = std::move(take),
                             cancellation = std::move(cancellation)]() mutable {
    const std::lock_guard lock(self->mutex);
    self->receive(std::move(take), std::move(cancellation));
  });
}

void supervisor_core::cancel_receive(const std::weak_ptr<impl>& weak,
                                     const std::shared_ptr<receive_cancellation>& cancellation) {
  cancellation->requested = true;  // seen by the completion, if the receive took a batch
  const auto self = weak.lock();
  if (!self || self->abandoned) return;
  asio::post(self->strand, [weak, which = cancellation.get()] {
    const auto alive = weak.lock();
    if (!alive) return;
    const std::lock_guard lock(alive->mutex);
    if (!alive->abandoned) alive->cancel_receive(which);
  });
}

void supervisor_core::give_back(const std::weak_ptr<impl>& weak, message_batch batch) {
  const auto self = weak.lock();
  if (!self || self->abandoned) return;
  asio::post(self->strand, [weak, batch = std::move(batch)]() mutable {
    const auto alive = weak.lock();
    if (!alive) return;
    const std::lock_guard lock(alive->mutex);
    alive->give_back(std::move(batch));
  });
}

bool supervisor_core::claim_run() noexcept {
  return !impl_->run_claimed.exchange(true);
}

void supervisor_core::stop() {
  stop(impl_);
}

void supervisor_core::stop(const std::weak_ptr<impl>& weak, bool kill_at_once) {
  const auto self = weak.lock();
  if (!self || self->abandoned) return;
  self->stop_pending = true;  // no child starts from now on, even before the strand sees this
  asio::dispatch(self->strand, [weak, kill_at_once] {
    const auto alive = weak.lock();
    if (!alive) return;
    const std::lock_guard lock(alive->mutex);
    if (!alive->abandoned) alive->stop_by_caller(kill_at_once);
  });
}

void supervisor_core::pause_reading() {
  asio::dispatch(impl_->strand, [weak = std::weak_ptr<impl>(impl_)] {
    const auto self = weak.lock();
    if (!self) return;
    const std::lock_guard lock(self->mutex);
    if (!self->abandoned) self->set_reading_paused(true);
  });
}

void supervisor_core::resume_reading() {
  asio::dispatch(impl_->strand, [weak = std::weak_ptr<impl>(impl_)] {
    const auto self = weak.lock();
    if (!self) return;
    const std::lock_guard lock(self->mutex);
    if (!self->abandoned) self->set_reading_paused(false);
  });
}

const run_options& supervisor_core::options() const noexcept {
  return impl_->options;
}

}  // namespace pipemux
