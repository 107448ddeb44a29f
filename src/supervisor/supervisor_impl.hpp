// The state of one run of a supervisor and everything it does, on its strand. The public glue is
// supervisor.cpp; the work is split by concern: starting.cpp, delivery.cpp, endings.cpp,
// stopping.cpp. The decisions about one child (restart, backoff, stop_on, grace, drain) are
// child_lifecycle's; the stop sequence is pipemux::stop_sequence.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipemux/supervisor.hpp"
#include "process/child_environment.hpp"
#include "process/orphan_guard.hpp"
#include "process/pipe_reader.hpp"
#include "process/pseudo_terminal.hpp"
#include "process/run_cgroup.hpp"
#include "readiness/dependency_state.hpp"
#include "readiness/line_pattern.hpp"
#include "supervisor/batch_queue.hpp"
#include "supervisor/cgroup_leftovers.hpp"
#include "supervisor/child_slot.hpp"

namespace pipemux {
namespace asio = boost::asio;
using detail::child_slot;
using detail::supervisor_core;
using steady = std::chrono::steady_clock;

struct supervisor_core::impl : std::enable_shared_from_this<impl> {
  impl(asio::any_io_executor ex, run_options opts);  // supervisor.cpp

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
  std::vector<std::optional<detail::line_pattern>> log_patterns;  // by program: its ready.log
  std::set<int> probe_pids;    // exec probes running: ours to reap (supervises())
  bool run_requested = false;  // async_run was called: one run per supervisor
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
  // Runs each pipe_reader turn (up to 8 reads) under `mutex`, shared by every pipe: the data
  // handler (start_reading) then takes no lock per read.
  std::shared_ptr<const detail::pipe_reader::turn_wrapper> read_turns;

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
  std::unique_ptr<detail::run_cgroup> cgroup;        // run_options::cgroup, when there is one
  std::string no_cgroup_reason;                      // why there is none
  std::optional<detail::window_size> terminal_size;  // set_terminal_size: for pseudo-terminals

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

  // Hands `add` each piece of a read: the whole read in raw mode, else what the framer cuts.
  template <class Add>
  void split(child_slot& c, stream_kind stream, std::string_view data, Add&& add) {
    if (options.framing == framing_mode::raw)
      add(data, piece_kind::chunk);
    else
      c.channels[static_cast<std::size_t>(stream)].framer.feed(data, add);
  }

  // Message storage of released batches, shared by all pipes and kept for a few only: one
  // each would grow to a read's worth of messages (up to ~500 KiB for short lines) per pipe,
  // which for a thousand children is far more than their read buffers.
  std::vector<std::vector<message>> spare_storages;
  static constexpr std::size_t max_spare_storages = 4;

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

  static std::chrono::milliseconds grace_of(const child_slot& c) { return c.life.policy().grace; }

  static constexpr std::chrono::milliseconds reap_wait{1000};  // see kill_children_now()

  // ---- Starting children (starting.cpp)

  void run();

  // A child stopped by SIGTTIN (it read from a terminal where it is in the background) or by
  // SIGSTOP makes no output and no noise: say so, once a second at most.
  void watch_job_control();

  // Children are started one per handler, so that the output of those already running is read
  // (and stamped) between two forks: starting a thousand takes a second, and a stop or a
  // message must not wait for all of them.
  void spawn_next();
  void never_spawn_the_rest();
  bool room_to_start() const;
  void start_waiting_child();
  bool any_waiting() const;

  // Starts (or restarts) the child's process. On failure the child is finished for good.
  void spawn(child_slot& c);

  // Built at the first start of one of the program's children, from the environment as it is
  // then, and shared by its children and their restarts.
  const detail::program_environment& environment_of(const child_slot& c);

  // Said once: from now on a SIGKILL of this process would leave the children's groups alive.
  void report_guard_lost(const child_slot& c);
  void fail_spawn(child_slot& c, std::string why);

  // ---- Dependencies and readiness (readiness.cpp)

  // The first child, in order, whose dependencies are met and for whom there is room; on the
  // way, children whose dependency failed are settled (on_dependency_failure), and those that
  // must wait say so once.
  child_slot* pick_next_to_start();
  detail::dependency_verdict dependencies_of(const child_slot& c, std::string& waiting_for) const;
  detail::child_progress progress_of(const child_slot& c) const;
  // A dependency of `c` failed: false when `c` is not to start (skip, or the run stops).
  bool settle_failed_dependency(child_slot& c, const std::string& why);

  // A run of `c` started: its ready probe (or ready at once), then its liveness probe.
  void start_probing(child_slot& c);
  void stop_probing(child_slot& c);
  void next_probe_after(child_slot& c, std::chrono::milliseconds delay);
  void probe_once(child_slot& c);
  void on_probe_answer(child_slot& c, bool ok, std::string what);
  void watch_log(child_slot& c, stream_kind stream, std::string_view data);
  void become_ready(child_slot& c, const std::string& how);
  void readiness_timed_out(child_slot& c);
  void start_liveness(child_slot& c);
  void stop_not_alive(child_slot& c);

  // The run stops dependents first: `c`'s stop signal waits while a program that depends on
  // its program still has a child running.
  bool has_running_dependents(const child_slot& c) const;
  void stop_child(child_slot& c, steady::time_point now, bool kill_at_once);
  void stop_deferred_children();

  // ---- Operating the run while it goes on (control.cpp)

  std::size_t scaled_children = 0;  // slots scale() added: the guard has room for so many
  std::vector<child_slot*> select(const child_selector& which, std::string& error);
  // `act` on each child `which` names: `said` gets one line of what was done, or why none.
  std::error_code act_on(const child_selector& which, std::string& said,
                         const std::function<std::string(child_slot&)>& act);
  child_status status_of(const child_slot& c, steady::time_point now) const;
  // What was done, for the caller's line: "web.0: stopping".
  std::string stop_on_request(child_slot& c, bool then_restart, const std::string& why);
  std::string start_on_request(child_slot& c, const std::string& why);
  std::string scale(std::size_t program, std::size_t count, const std::string& requested_by);
  std::string control_refusal() const;  // why the run takes no action now, or empty
  // Runs `act` on the strand (at once when called there), unless the run takes no action
  // now, then tells `done` what it said.
  static void control(const std::shared_ptr<impl>& self,
                      move_only_function<std::error_code(impl&, std::string&)> act,
                      control_done done);

  // ---- Their input (program_spec::input; stopping.cpp closes it)

  void send_input(std::size_t child, std::string bytes,
                  std::shared_ptr<move_only_function<void(std::error_code)>> written);
  // A run started with `fd` as our end of its stdin: what waited is written first.
  void start_input(child_slot& c, detail::unique_fd fd);
  // Its run is over: its stdin closes; once it is finished for good, what waits fails.
  void end_input(child_slot& c);

  // ---- Their output, per message, per read or in batches (delivery.cpp)

  void start_reading(child_slot& c, stream_kind stream);
  void on_output(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                 std::string_view data);
  void deliver(child_slot& c, const message& m);
  // One call of on_message per piece.
  void deliver_each(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                    std::string_view data);

  // Whether `piece` lies in `buffer` (and not in the framer's storage of a joined line).
  static bool within(std::string_view buffer, std::string_view piece);

  // Writes message `at` of `storage`, overwriting the one a previous read left there rather
  // than rebuilding it: copying the child's shared_ptr for every line (an atomic increment,
  // later a decrement) cost 7% of the CLI's time.
  static void put_message(std::vector<message>& storage, std::size_t at,
                          const std::shared_ptr<const child_info>& child, stream_kind stream,
                          log_clock::time_point arrival, std::string_view bytes, piece_kind kind);
  static void grow_storage(std::vector<message>& storage,
                           const std::shared_ptr<const child_info>& child, stream_kind stream,
                           log_clock::time_point arrival, std::string_view bytes, piece_kind kind);
  static void set_child(message& m, const std::shared_ptr<const child_info>& child);

  // async_run_per_read: the pieces of one read in one call; the pipe reads on once it returns.
  void deliver_read(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                    std::string_view data);

  // Flow control: the pieces of one read go out as one batch, as views into the read buffer,
  // and the pipe is not read again until the batch ends (its hold posts release_channel).
  void hand_over_read(child_slot& c, stream_kind stream, log_clock::time_point arrival,
                      std::string_view data);

  // The last line of a closed pipe, without its '\n': a batch that holds no pipe.
  void hand_over_last(child_slot& c, stream_kind stream, std::string_view piece, piece_kind kind);
  void hand_over(message_batch batch);
  void receive(receiver take, std::shared_ptr<receive_cancellation> cancellation);

  // The cancellation of a receive reached the strand: it completes now if it still waits.
  void cancel_receive(const receive_cancellation* which);

  // A receive was cancelled after it took `batch`, before its handler ran: the batch goes back
  // first in line, for the next receive.
  void give_back(message_batch batch);

  // A batch ended: its pipe may be read again (unless the whole run is paused), into the
  // storage it hands back.
  void release_channel(child_slot& c, stream_kind stream, std::uint64_t serial,
                       std::vector<message> storage);
  std::vector<message> take_spare_storage();
  void give_back_storage(std::vector<message> storage);

  // Delivers what the framer still holds (a last line without '\n') and marks the pipe closed.
  void close_channel(child_slot& c, stream_kind stream);

  // A consumer that pauses again after one read would otherwise hear only the first children:
  // reading resumes in turn, from the child after the one read last.
  void set_reading_paused(bool paused);

  // ---- A child's run ends; the run completes (endings.cpp)

  // A callback that throws would end a read loop half way and hang the run: instead the run
  // is stopped (its output still read, and dropped) and completes with the exception.
  void callback_threw(std::exception_ptr e);
  void on_output_end(child_slot& c, stream_kind stream, std::error_code read_error);
  void on_exited(child_slot& c, std::error_code wait_error, int wait_status);

  // The child is gone but its pipes are open. Output that still flows is read to the end, however
  // long that takes; a pipe is abandoned only when a whole grace period passed with nothing
  // written to it and nothing left in it: then something else (a background grandchild)
  // holds it open, and may for ever.
  void arm_drain_timer(child_slot& c);
  void abandon_output(child_slot& c);

  // The current run ends once the process is reaped and its pipes are closed. Whatever is
  // left in its process group then is an orphan of that run and is killed, as systemd does
  // with a service's control group.
  void maybe_finish_run(child_slot& c);
  void schedule_restart(child_slot& c, const detail::run_end& end);
  void stop_others(child_slot& c, const std::string& why);
  void complete_if_all_finished();
  void complete();
  run_summary summarize() const;

  // Hands the outcome over, once (posted: see initiate_run); the callbacks are dropped first.
  void finish(error_code ec, run_summary summary);

  // What they capture is released now, or, when one of them is running (it stopped the run),
  // once it has returned.
  void drop_callbacks();

  // ---- Stopping (stopping.cpp)

  // Every child is finished, but what they started may still run in the cgroup (a daemon, a
  // `setsid` job): stopped like a child (see cgroup_leftovers).
  void stop_leftovers();
  void watch_leftovers();
  void kill_leftovers();
  void emit_leftovers(const std::vector<detail::cgroup_leftovers::report>& reports);
  void finish_leftovers();

  // Kills what may be left in the cgroup and removes it. Idempotent: after the guard did it,
  // this finds nothing to do.
  void remove_cgroup();

  // stop() from the caller (or a cancellation): the run then ends with operation_aborted.
  void stop_by_caller(bool kill_at_once);

  // `kill_at_once` (a terminal cancellation): SIGKILL instead of the stop signal, no grace.
  void stop(bool kill_at_once = false);

  // One child stopped while the run goes on (its liveness probe, or the host asked): `signals`
  // now, SIGKILL once its grace is over. Its probing must be stopped first.
  void stop_alone(child_slot& c, const stop_sequence::signal_list& signals);

  // Each child has its own program's grace: the timer wakes for the first one to end.
  void wait_for_next_grace_to_end();
  void kill_those_out_of_grace();

  // Its grace is over, or there is no more grace for anyone; `why` says which, for the log.
  void kill_now(child_slot& c, const char* why);
  void escalate();

  // The supervisor is being destroyed, on whatever thread, with the strand perhaps never to
  // run again (io.stop()), or from inside a callback: kills and reaps every child here and
  // now, without calling anybody and without touching what a handler in progress uses (the
  // rest is abandon(), on the strand). Called with `mutex` held. Waits reap_wait at most
  // (a process in uninterruptible sleep), plus the guard's own orphan_guard::finish_wait.
  void kill_children_now() noexcept;

  // The rest of the destructor's work, on the strand: no more callbacks, nothing left open.
  void abandon();
};

}  // namespace pipemux
