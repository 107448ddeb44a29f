// The public face of the supervisor (supervisor.hpp): argument checks, and each call posted or
// dispatched to the run's strand, where supervisor_impl.hpp does the work.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/strand.hpp>

#include <fmt/format.h>

#include <csignal>
#include <set>
#include <stdexcept>

#include "pipemux/name_escape.hpp"
#include "pipemux/stop_signal.hpp"
#include "readiness/probe_target.hpp"
#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

supervisor_core::impl::impl(asio::any_io_executor ex, run_options opts)
    : executor(std::move(ex)),
      strand(asio::make_strand(executor)),
      options(opts),
      grace_timer(strand),
      job_control_timer(strand),
      leftovers_timer(strand) {}

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
namespace {

void check_probe(const std::string& which, const std::optional<probe>& p) {
  if (!p) return;
  if (const std::string problem = detail::target_problem(p->kind, p->target); !problem.empty())
    throw std::invalid_argument(which + problem);
  if (p->interval.count() <= 0 || p->timeout.count() <= 0 || p->initial_delay.count() < 0)
    throw std::invalid_argument(which +
                                "interval and timeout must be positive, "
                                "initial_delay not negative");
}

}  // namespace

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
    check_probe(which + "ready: ", p.ready);
    check_probe(which + "alive: ", p.alive);
    if (p.alive && p.alive->kind == probe_kind::log)
      throw std::invalid_argument(which +
                                  "alive: a log probe cannot tell a program stopped "
                                  "answering (use tcp, http or exec)");
  }
  std::size_t where = 0;
  if (const std::string problem = detail::dependency_problem(programs, where); !problem.empty())
    throw std::invalid_argument("pipemux::supervisor: program '" +
                                escaped_name(programs[where].name) + "': " + problem);
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

void supervisor_core::set_terminal_size(unsigned short rows, unsigned short columns) {
  asio::dispatch(impl_->strand, [weak = std::weak_ptr<impl>(impl_), rows, columns] {
    const auto self = weak.lock();
    if (!self) return;
    const std::lock_guard lock(self->mutex);
    if (self->abandoned || rows == 0 || columns == 0) return;
    self->terminal_size = detail::window_size{rows, columns};
    for (auto& c : self->children)
      if (c->program->pty)
        if (auto& terminal = c->channels[static_cast<std::size_t>(stream_kind::out)].reader)
          detail::resize_pseudo_terminal(terminal->descriptor(), *self->terminal_size);
  });
}

void supervisor_core::send_input(std::size_t child, std::string bytes,
                                 move_only_function<void(std::error_code)> written) {
  auto callback = std::make_shared<move_only_function<void(std::error_code)>>(std::move(written));
  asio::dispatch(impl_->strand, [weak = std::weak_ptr<impl>(impl_), child, bytes = std::move(bytes),
                                 callback]() mutable {
    const auto self = weak.lock();
    if (!self) return;
    const std::lock_guard lock(self->mutex);
    if (self->abandoned) return;
    self->send_input(child, std::move(bytes), std::move(callback));
  });
}

void supervisor_core::close_input(std::size_t child) {
  asio::dispatch(impl_->strand, [weak = std::weak_ptr<impl>(impl_), child] {
    const auto self = weak.lock();
    if (!self) return;
    const std::lock_guard lock(self->mutex);
    if (self->abandoned || child >= self->children.size()) return;
    auto& c = *self->children[child];
    c.input_closed = true;
    if (c.input) c.input->close_when_written();
  });
}

bool supervisor_core::supervises(int pid) const {
  const std::lock_guard lock(impl_->mutex);
  if (impl_->probe_pids.contains(pid)) return true;
  for (const auto& c : impl_->children)
    if (c->process && c->process->pid() == pid) return true;
  return false;
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
