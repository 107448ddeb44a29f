// The supervisor: runs children on the caller's executor and hands over their output, framed
// and stamped with its arrival time, until every child has exited and every pipe reached EOF.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "pipemux/asio_configuration.hpp"  // a program built with another Asio does not link
#include "pipemux/control.hpp"
#include "pipemux/error.hpp"
#include "pipemux/events.hpp"
#include "pipemux/message.hpp"
#include "pipemux/message_batch.hpp"
#include "pipemux/move_only_function.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux {

template <class Executor = boost::asio::any_io_executor>
class basic_supervisor;
/// The supervisor with a type-erased executor: what most programs use.
using supervisor = basic_supervisor<>;

namespace detail {

// What every basic_supervisor is, whatever its executor type: the run lives on a strand of an
// any_io_executor, behind a pointer (so a supervisor moves cheaply). The API is
// basic_supervisor's.
class supervisor_core {
 public:
  /// Callbacks may be move-only (a lambda that owns a unique_ptr); each is called again and
  /// again, as an lvalue, on the supervisor's strand.
  using message_handler = move_only_function<void(const message&)>;
  using event_handler = move_only_function<void(const child_event&)>;
  using batch_handler = move_only_function<void(message_batch)>;
  using read_handler = move_only_function<void(std::span<const message>)>;

  supervisor_core(const supervisor_core&) = delete;
  supervisor_core& operator=(const supervisor_core&) = delete;

  const run_options& options() const noexcept;

  /// Graceful stop, from any thread: every running child gets the stop signal, and SIGKILL
  /// after the grace period. Output already written is still read and delivered. A second
  /// call skips what is left of the grace period.
  void stop();

  /// From any thread: every child on a pseudo-terminal (program_spec::pty) gets this window
  /// size (its foreground process group gets SIGWINCH from the kernel), and so do the children
  /// started after. For a CLI forwarding its own terminal's size on SIGWINCH; without a call,
  /// a pseudo-terminal takes the size of this process's stdout when that is a terminal.
  void set_terminal_size(unsigned short rows, unsigned short columns);

  /// Whether `pid` is a process this supervisor reaps itself: a child, or an exec probe's
  /// process (pipemux/readiness.hpp). From any thread: for a host that reaps other processes
  /// (a subreaper's waitpid on whatever is not its own).
  bool supervises(int pid) const;

  /// From any thread, for a child of a program with `input` (program_spec::input): writes
  /// `bytes` to its stdin, after what was sent before. `written` (on the strand, like the other
  /// callbacks) says when its pipe has them all, so that a caller can wait before sending more;
  /// or the error that kept them from it: broken_pipe when the child will not run again, has no
  /// input or closed its stdin; operation_canceled when its run ended first. A child with no
  /// run now (waiting for its turn, its dependencies or a restart) holds up to 1 MiB for its
  /// next run, and says so at once with operation_in_progress (no_buffer_space past that).
  /// `child` is child_info::index.
  void send_input(std::size_t child, std::string bytes,
                  move_only_function<void(std::error_code)> written = {});
  /// Gives the child's stdin its end (EOF) once what was sent is written; its later runs (a
  /// restart) get EOF at once.
  void close_input(std::size_t child);

  /// Operating the run while it goes on (control.hpp), from any thread. Each call does its
  /// work on the strand and then calls `done` there, as every callback is: with no error and
  /// a line saying what was done ("web.0: stopping; web.1: ended already"), or with an error
  /// and a line saying why: std::errc::no_such_process (no such program, or no such child),
  /// std::errc::operation_not_permitted (the run is not going on: not started, stopping or
  /// over), std::errc::invalid_argument (a scale past what the run can guard). `done` is not
  /// called once the supervisor is destroyed. `requested_by` is named in the event each
  /// child gets (child_event_kind::requested: "restart asked by pipemux ctl (uid 1000)").
  using control_done = move_only_function<void(std::error_code, std::string)>;

  /// Every child of the run, in index order (children added by scale() last).
  void status(move_only_function<void(std::vector<child_status>)> done);
  /// Its stop signal, then SIGKILL after its grace, as the run's stop does; it is not
  /// restarted, and its end neither fails the run nor ends it (stop_on). The run still
  /// completes once no child is left: stopping the last child ends the run. A child that has
  /// not started yet never starts.
  void stop_children(child_selector which, const std::string& requested_by, control_done done);
  /// A child that has ended (or waits to restart) starts again now, its dependencies and
  /// max_running not asked; one running is left alone.
  void start_children(child_selector which, const std::string& requested_by, control_done done);
  /// A running child is stopped (as stop_children) and started again as soon as it has ended;
  /// one that has ended starts now (as start_children). Neither counts against max_restarts.
  void restart_children(child_selector which, const std::string& requested_by, control_done done);
  /// The program gets `count` children: those numbered `count` and above are stopped (as
  /// stop_children), those below it that scale() stopped before start again, and new ones
  /// (the next index, the next instance number) are started. Children that ended on their
  /// own are left as they are. A run may add up to max_scaled_children in all.
  void scale(std::string program, std::size_t count, const std::string& requested_by,
             control_done done);
  static constexpr std::size_t max_scaled_children = 1024;

  /// Flow control for the whole run, from any thread: while paused, no child's pipe is read,
  /// so each child blocks in write once its pipe is full, as in any Unix pipeline; nothing is
  /// lost, and no pipe is abandoned for silence. Stops, exits and timers go on. For a consumer
  /// that cannot keep up (a stalled terminal, a slow socket).
  void pause_reading();
  void resume_reading();

 protected:
  supervisor_core(boost::asio::any_io_executor executor, run_options options);
  ~supervisor_core();
  supervisor_core(supervisor_core&& other) noexcept = default;
  // The run of this one, if any, is abandoned as by the destructor.
  supervisor_core& operator=(supervisor_core&& other) noexcept;

  template <class CompletionToken, class Executor>
  auto initiate_receive(const Executor& default_executor, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, message_batch)>(
        [this, default_executor](auto handler) {
          auto work = boost::asio::make_work_guard(
              boost::asio::get_associated_executor(handler, default_executor));
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          auto cancellation = std::make_shared<receive_cancellation>();
          // Any type: a receive that has not completed has done nothing yet.
          if (slot.is_connected())
            slot.assign([weak = std::weak_ptr<impl>(impl_),
                         cancellation](boost::asio::cancellation_type type) {
              if (type != boost::asio::cancellation_type::none) cancel_receive(weak, cancellation);
            });
          auto held = hold_handler(std::move(handler));
          receive(
              [held, work, slot, cancellation, weak = std::weak_ptr<impl>(impl_)](
                  error_code ec, message_batch batch) mutable {
                boost::asio::post(work.get_executor(),
                                  [held = std::move(held), slot, cancellation, weak, ec,
                                   batch = std::move(batch)]() mutable {
                                    if (slot.is_connected()) slot.clear();
                                    // Cancelled after it took a batch, before this ran: the batch
                                    // is not lost, it goes back first in line for the next receive.
                                    if (!ec && cancellation->requested) {
                                      give_back(weak, std::move(batch));
                                      batch = message_batch();
                                      ec = boost::asio::error::operation_aborted;
                                    }
                                    upcall(std::move(held), ec, std::move(batch));
                                  });
                work.reset();
              },
              cancellation);
        },
        token);
  }

  using completion = std::function<void(error_code, run_summary)>;
  using receiver = std::function<void(error_code, message_batch)>;
  struct receive_cancellation {
    std::atomic<bool> requested{false};
  };

  // The handler, in memory from its associated allocator (shared: the type-erased completion
  // must be copyable).
  template <class Handler>
  static std::shared_ptr<Handler> hold_handler(Handler handler) {
    const auto allocator = boost::asio::get_associated_allocator(handler);
    return std::allocate_shared<Handler>(allocator, std::move(handler));
  }
  // As Asio's operations do: the memory goes back to the handler's allocator before the
  // upcall, and the handler is called as an rvalue, once.
  template <class Handler, class... Args>
  static void upcall(std::shared_ptr<Handler> held, Args&&... args) {
    Handler handler(std::move(*held));
    held.reset();
    std::move(handler)(std::forward<Args>(args)...);
  }
  struct output_consumer {
    message_handler on_message = {};  // one call per message (async_run)
    batch_handler on_batch = {};      // one call per batch, with flow control (async_run_batched)
    bool batched = false;
    bool pull = false;          // batched, and the batches wait for receive()
    read_handler on_read = {};  // one call per read (async_run_per_read)
  };

  template <class CompletionToken, class Executor>
  auto initiate_run(std::vector<program_spec> programs, output_consumer consumer,
                    event_handler on_event, const Executor& default_executor,
                    CompletionToken&& token) {
    check_programs(programs);
    return boost::asio::async_initiate<CompletionToken, void(error_code, run_summary)>(
        [this, default_executor](auto handler, std::vector<program_spec>&& specs,
                                 output_consumer&& output, event_handler&& event_fn) {
          // Keeps the handler's executor busy until completion, then completes on it.
          auto work = boost::asio::make_work_guard(
              boost::asio::get_associated_executor(handler, default_executor));
          if (!claim_run()) {  // a second run: rejected, and nothing left on its slot
            boost::asio::post(
                work.get_executor(), [held = hold_handler(std::move(handler))]() mutable {
                  upcall(std::move(held), error_code(errc::already_started), run_summary{});
                });
            return;
          }
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          // The slot may outlive this supervisor: it holds only a weak reference.
          if (slot.is_connected())
            slot.assign([weak = std::weak_ptr<impl>(impl_)](boost::asio::cancellation_type type) {
              cancel_run(weak, type);
            });
          auto held = hold_handler(std::move(handler));
          // Always posted to the handler's executor, where the slot is cleared too (the caller
          // may be emitting on it): never inside async_run, stop(), a cancellation's emit() or
          // a callback, as an Asio I/O object's operation never completes inline.
          start(std::move(specs), std::move(output), std::move(event_fn),
                [held, work, slot](error_code ec, run_summary summary) mutable {
                  boost::asio::post(work.get_executor(), [held = std::move(held), slot, ec,
                                                          summary = std::move(summary)]() mutable {
                    if (slot.is_connected()) slot.clear();
                    upcall(std::move(held), ec, std::move(summary));
                  });
                  work.reset();
                });
        },
        token, std::move(programs), std::move(consumer), std::move(on_event));
  }

 private:
  /// Throws std::invalid_argument for a program no run can use.
  static void check_programs(const std::vector<program_spec>& programs);
  bool claim_run() noexcept;
  void start(std::vector<program_spec> programs, output_consumer output, event_handler on_event,
             completion on_complete);
  void receive(receiver on_batch, std::shared_ptr<receive_cancellation> cancellation);
  void abandon_run() noexcept;

  struct impl;
  static void stop(const std::weak_ptr<impl>& weak, bool kill_at_once = false);
  static void cancel_run(const std::weak_ptr<impl>& weak, boost::asio::cancellation_type type);
  static void cancel_receive(const std::weak_ptr<impl>& weak,
                             const std::shared_ptr<receive_cancellation>& cancellation);
  static void give_back(const std::weak_ptr<impl>& weak, message_batch batch);
  std::shared_ptr<impl> impl_;
};

}  // namespace detail

/// Never calls io_context::run, installs no signal handler, never touches SIGPIPE and never
/// calls waitpid(-1): each child is reaped through its own pidfd. (A host that sets SIGCHLD to
/// SIG_IGN, or reaps with waitpid(-1) itself, takes exit statuses away from it.) All state
/// lives on a strand of the executor, so the io_context may be run by several threads; every
/// callback below runs on that strand, one at a time. Given a strand (asio::make_strand(io)),
/// the callbacks are also serialised with every other handler on that strand. Two supervisors
/// share nothing.
///
/// Movable, as Asio's I/O objects are (a moved-from supervisor may only be destroyed or
/// assigned to); `Executor` is the default executor of its completions, and its default
/// completion token is that executor's: `asio::use_awaitable_t<>::as_default_on(supervisor(io))`
/// makes one whose operations are awaited without a token.
template <class Executor>
class basic_supervisor : public detail::supervisor_core {
 public:
  using executor_type = Executor;
  template <class Executor1>
  struct rebind_executor {
    using other = basic_supervisor<Executor1>;
  };

  /// Throws std::invalid_argument for options no run can use (read_size 0, a stop_signal that
  /// does not end a process by default, ...).
  explicit basic_supervisor(const executor_type& executor, run_options options = {})
      : supervisor_core(boost::asio::any_io_executor(executor), options), executor_(executor) {}
  /// On the context's executor (an io_context, a thread_pool).
  template <class ExecutionContext>
  requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
  explicit basic_supervisor(ExecutionContext& context, run_options options = {})
      : basic_supervisor(executor_type(context.get_executor()), options) {}

  // A moved-from supervisor keeps its executor (a copy), as Asio's I/O objects do.
  basic_supervisor(basic_supervisor&& other) noexcept
      // NOLINTNEXTLINE(performance-move-constructor-init): the copy is on purpose
      : supervisor_core(std::move(other)), executor_(other.executor_) {}
  /// Abandons this one's run first, as the destructor does.
  basic_supervisor& operator=(basic_supervisor&& other) noexcept {
    executor_ = other.executor_;
    supervisor_core::operator=(std::move(other));
    return *this;
  }
  /// From a supervisor of another executor type (what as_default_on does).
  template <class Executor1>
  requires std::is_convertible_v<Executor1, Executor> basic_supervisor(
      basic_supervisor<Executor1>&& other)
      : supervisor_core(std::move(other)), executor_(other.get_executor()) {}

  /// Every child still running is killed with SIGKILL (its whole group, and its cgroup) and
  /// reaped before this returns, whatever the io_context does (stopped with io.stop(), or never
  /// run again): no child and no zombie is left. That costs a wait: as long as SIGKILLed
  /// children take to die (milliseconds), 1 s at most for one in uninterruptible sleep, plus
  /// up to 1 s for the orphan guard process to end.
  ///
  /// No callback is made once this has begun, and none from inside it. Called from inside a
  /// callback, that callback keeps running (what it captured lives until it returns). Called
  /// from another thread while a callback runs, it waits for that callback to return (so do
  /// not destroy it while holding a lock that a callback takes). A run not yet complete
  /// completes with asio::error::operation_aborted, posted to its handler's executor (never
  /// from inside the destructor), as Asio's I/O objects do; if the io_context never runs
  /// again, the handler is destroyed with it.
  ///
  /// The run holds its callbacks until it completes: a callback that captures what owns the
  /// supervisor (a shared_from_this()) keeps both alive until then, and for ever if the
  /// io_context stops first. Capture a weak_ptr, or destroy the supervisor yourself.
  ~basic_supervisor() = default;

  executor_type get_executor() const noexcept { return executor_; }

  /// Runs `instances` children of every program until each has been reaped (after its
  /// restarts, if any) and its output fully delivered; one run per supervisor: a second call
  /// completes with errc::already_started and leaves the first run alone (its cancellation
  /// slot gets no handler).
  ///
  /// Throws std::invalid_argument, naming the program, for programs no run can use: an empty
  /// name, a name given twice, a stop_signal that is not a signal or does not end a process by
  /// default, a negative stop_grace (as the constructor does for run_options). A name may hold
  /// any bytes (the CLI names a program after its file): pipemux escapes it wherever it prints
  /// it; print it through escaped_name() (name_escape.hpp) yourself.
  ///
  /// Nothing happens inside this call: the first fork, the first event and, in every case,
  /// the completion come later, from the io_context. The completion is always posted to the
  /// handler's associated executor, never made inside async_run, stop(), a cancellation
  /// signal's emit() or a callback; the operation's memory (from the handler's associated
  /// allocator) is freed before the handler is called, as an rvalue.
  ///
  /// `on_message` gets every framed piece of output (empty: output is read and counted only);
  /// `on_event` (may be empty) every start, exit, restart and fault. If either throws, no
  /// callback is made after it, the run is stopped and completes with errc::callback_threw
  /// (the exception is in run_summary::callback_exception). Completion signature:
  /// `void(pipemux::error_code, run_summary)` (a boost::system::error_code):
  /// - no error: every child exited 0 (or was stopped because stop_on ended the run: then
  ///   `summary.ended_by` says which child did, and a failed one makes it errc::child_failed);
  /// - asio::error::operation_aborted: the caller stopped the run (stop(), cancellation, or
  ///   the destructor);
  /// - errc::spawn_failed, errc::child_failed: see the summary for which child and why.
  /// Tokens that turn an error into an exception (use_future, use_awaitable) drop the summary
  /// with it: wrap them in asio::as_tuple to get both (`co_await sup.async_run(...,
  /// as_tuple(use_awaitable))`; Boost 1.81's as_tuple does not compose with use_future).
  ///
  /// Cancellation through the token's slot, as Process v2's async_execute maps it:
  /// - partial: a graceful stop, as stop() (stop signal, SIGKILL after the grace); output
  ///   already written is still delivered;
  /// - terminal: SIGKILL at once (the stop signal is never sent); output already written is
  ///   still delivered;
  /// - total alone is not supported (a stop has side effects: signals) and is ignored;
  /// - combined types (cancellation_type::all, terminal | partial) get the mildest they hold:
  ///   with partial, a graceful stop.
  template <class CompletionToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_run(
      std::vector<program_spec> programs, message_handler on_message, event_handler on_event,
      CompletionToken&& token = boost::asio::default_completion_token_t<executor_type>()) {
    return initiate_run(std::move(programs), output_consumer{.on_message = std::move(on_message)},
                        std::move(on_event), executor_, std::forward<CompletionToken>(token));
  }

  /// async_run without an event handler.
  template <boost::asio::completion_token_for<void(error_code, run_summary)> CompletionToken =
                boost::asio::default_completion_token_t<executor_type>>
  auto async_run(
      std::vector<program_spec> programs, message_handler on_message,
      CompletionToken&& token = boost::asio::default_completion_token_t<executor_type>()) {
    return async_run(std::move(programs), std::move(on_message), event_handler{},
                     std::forward<CompletionToken>(token));
  }

  /// async_run with the pieces of each read handed over together: one `on_read` call per read
  /// of one child's pipe (one child, one stream, one arrival time; a last line without
  /// newline comes alone). The messages and their bytes are valid during the call only, and
  /// the pipe is read again once it returns: no flow control, as async_run. For a consumer
  /// that does something once per read (the CLI formats a log line's prefix once per read).
  template <class CompletionToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_run_per_read(
      std::vector<program_spec> programs, read_handler on_read, event_handler on_event,
      CompletionToken&& token = boost::asio::default_completion_token_t<executor_type>()) {
    return initiate_run(std::move(programs), output_consumer{.on_read = std::move(on_read)},
                        std::move(on_event), executor_, std::forward<CompletionToken>(token));
  }

  /// async_run with flow control per child: output is handed over in message_batch objects,
  /// one per read of one child's pipe, and that pipe is not read again until the batch is
  /// destroyed (or released). A consumer that forwards a child's output somewhere slow keeps
  /// the batch until it is sent: that child is slowed down, every other child flows on, and
  /// memory stays at one read buffer plus one partial line per pipe.
  ///
  /// Push: `on_batch` gets each batch (moved in) and may keep it as long as it likes; a child
  /// whose batch is held cannot finish (its pipe is not read to the end), so neither can the
  /// run, even after stop(): release what you hold to let it end.
  /// Pull: with `on_batch` empty, batches wait in arrival order for async_receive().
  /// Everything else (events, completion, cancellation, callback_threw) is as async_run's.
  template <class CompletionToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_run_batched(
      std::vector<program_spec> programs, batch_handler on_batch, event_handler on_event,
      CompletionToken&& token = boost::asio::default_completion_token_t<executor_type>()) {
    const bool pull = !on_batch;
    return initiate_run(
        std::move(programs),
        output_consumer{.on_batch = std::move(on_batch), .batched = true, .pull = pull},
        std::move(on_event), executor_, std::forward<CompletionToken>(token));
  }

  /// The next batch of a run started with async_run_batched() without a batch handler, in
  /// arrival order across children. Completion signature `void(error_code, message_batch)`:
  /// asio::error::eof once the run is over and every batch has been taken (the run may
  /// complete before its last batches are received: receive until eof);
  /// asio::error::already_started while another receive is pending (one at a time);
  /// asio::error::operation_not_supported for a run that was not started that way;
  /// asio::error::operation_aborted when the supervisor is destroyed, or when cancelled.
  ///
  /// Cancellation through the token's slot, any type (a receive has no side effect): a
  /// pending receive completes at once with operation_aborted, and the batch that comes later
  /// waits for the next receive, as with Asio's channels; so `co_await (receive || timer)`
  /// loses nothing. A receive that had taken its batch when the cancellation came, its handler
  /// not called yet, completes with operation_aborted too and gives the batch back, first in
  /// line. Cancelling a receive does not stop the run: stop() does. Completed as async_run's
  /// (posted, memory freed before the upcall).
  template <class CompletionToken = boost::asio::default_completion_token_t<executor_type>>
  auto async_receive(
      CompletionToken&& token = boost::asio::default_completion_token_t<executor_type>()) {
    return initiate_receive(executor_, std::forward<CompletionToken>(token));
  }

 private:
  template <class>
  friend class basic_supervisor;
  Executor executor_;
};

}  // namespace pipemux
