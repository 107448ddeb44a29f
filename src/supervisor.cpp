#include "pipemux/supervisor.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "child_process.hpp"
#include "executable_lookup.hpp"
#include "pipe_reader.hpp"

extern char** environ;

namespace pipemux {
namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// One child: its process, its pipe and what is known about it so far.
struct child_slot {
  child_slot(const asio::any_io_executor& executor, const program_spec& spec,
             std::size_t max_line)
      : program(&spec), framer(max_line), drain_timer(executor) {}

  child_info info;
  const program_spec* program;
  std::unique_ptr<detail::child_process> process;
  std::shared_ptr<detail::pipe_reader> out;
  bool out_open = false;
  line_framer framer;
  asio::steady_timer drain_timer;  // bounds how long a pipe may outlive its child
  std::optional<exit_status> status;
  steady::time_point started_at;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::string spawn_error;
  bool finished = false;  // reaped, output delivered, `exited` reported (or never started)
};

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
  }
  return out;
}

// The parent's environment, then who the child is, then the program's own settings.
std::vector<std::string> child_environment(const program_spec& spec, const child_info& info) {
  std::vector<std::pair<std::string, std::string>> overrides = {
      {"PIPEMUX_CHILD_NAME", info.name},
      {"PIPEMUX_CHILD_INDEX", std::to_string(info.index)},
      {"PIPEMUX_CHILD_INSTANCE", std::to_string(info.instance)},
  };
  overrides.insert(overrides.end(), spec.environment.begin(), spec.environment.end());
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view kv(*entry);
    const std::string_view key = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& [k, v] : overrides) overridden = overridden || k == key;
    if (!overridden) env.emplace_back(kv);
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  return env;
}

std::string search_path_for(const program_spec& spec) {
  for (const auto& [k, v] : spec.environment)
    if (k == "PATH") return v;
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
}

}  // namespace

struct supervisor::impl : std::enable_shared_from_this<impl> {
  impl(const asio::any_io_executor& executor, run_options opts)
      : strand(asio::make_strand(executor)), options(opts), grace_timer(strand) {}

  enum class phase { idle, running, stopping, killing, done };

  asio::any_io_executor strand;  // every handler below runs here
  run_options options;
  message_handler on_message;
  event_handler on_event;
  completion_handler on_complete;
  std::vector<program_spec> programs;
  std::vector<std::unique_ptr<child_slot>> children;
  std::size_t unfinished = 0;
  phase state = phase::idle;
  std::atomic<bool> abandoned{false};  // the supervisor is gone: call nobody
  asio::steady_timer grace_timer;

  // Runs `fn(self)` on the strand unless the supervisor was destroyed meanwhile.
  template <class Fn>
  auto guarded(Fn fn) {
    return [weak = weak_from_this(), fn = std::move(fn)](auto&&... args) {
      auto self = weak.lock();
      if (self && !self->abandoned) fn(*self, std::forward<decltype(args)>(args)...);
    };
  }

  void emit(child_event_kind kind, const child_slot& c, std::string detail = {}) {
    if (on_event) on_event(child_event{kind, c.info, c.status, {}, std::move(detail)});
  }

  void run() {
    state = phase::running;
    std::size_t index = 0;
    for (const auto& spec : programs)
      for (std::size_t i = 0; i < spec.instances; ++i) {
        auto c = std::make_unique<child_slot>(strand, spec, options.max_line);
        c->info.name = spec.name;
        c->info.index = index++;
        c->info.instance = i;
        children.push_back(std::move(c));
      }
    for (auto& c : children) {
      if (abandoned || state != phase::running) {
        // stop() arrived while spawning (from a handler): the rest never start.
        c->spawn_error = "not started: the run was stopped";
        c->finished = true;
        continue;
      }
      spawn(*c);
    }
    if (unfinished == 0) complete();
  }

  void spawn(child_slot& c) {
    const program_spec& spec = *c.program;
    std::string why;
    detail::launch_request request;
    request.executable = detail::find_executable(spec.argv.empty() ? std::string_view{}
                                                                   : std::string_view(spec.argv[0]),
                                                 search_path_for(spec), why);
    if (request.executable.empty())
      return fail_spawn(c, "cannot start '" + (spec.argv.empty() ? "" : spec.argv[0]) + "': " + why);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)  // CLOEXEC: no sibling may hold this pipe (bug 1)
      return fail_spawn(c, std::string("cannot create a pipe: ") + std::strerror(errno));

    request.argv = spec.argv;
    request.environment = child_environment(spec, c.info);
    request.working_directory = spec.working_directory;
    request.stdout_fd = fds[1];
    request.own_process_group = options.own_process_group;
    request.die_with_parent = options.die_with_parent;
    std::error_code ec;
    c.process = detail::child_process::launch(strand, request, ec);
    ::close(fds[1]);  // the child has its copy; ours would hold EOF back forever
    if (!c.process) {
      ::close(fds[0]);
      return fail_spawn(c, "cannot start '" + spec.argv[0] + "': " + ec.message());
    }

    c.info.pid = c.process->pid();
    c.started_at = steady::now();
    ++unfinished;
    emit(child_event_kind::started, c, join_argv(spec.argv));

    c.out = std::make_shared<detail::pipe_reader>(strand, fds[0], options.read_size);
    c.out_open = true;
    child_slot* slot = &c;
    c.out->start(
        guarded([slot](impl& self, log_clock::time_point t, std::string_view data) {
          self.on_output(*slot, t, data);
        }),
        guarded([slot](impl& self, std::error_code read_error) {
          self.on_output_end(*slot, read_error);
        }));
    c.process->async_wait(guarded([slot](impl& self, std::error_code wait_error, int status) {
      self.on_exited(*slot, wait_error, status);
    }));
  }

  void fail_spawn(child_slot& c, std::string why) {
    c.spawn_error = std::move(why);
    c.finished = true;
    emit(child_event_kind::spawn_failed, c, c.spawn_error);
  }

  void on_output(child_slot& c, log_clock::time_point arrival, std::string_view data) {
    c.bytes += data.size();
    auto deliver = [&](std::string_view piece, piece_kind kind) {
      ++c.messages;
      on_message(message{c.info, stream_kind::out, arrival, piece, kind});
    };
    if (options.framing == framing_mode::raw)
      deliver(data, piece_kind::chunk);
    else
      c.framer.feed(data, deliver);
  }

  void on_output_end(child_slot& c, std::error_code read_error) {
    close_output(c);
    if (read_error) emit(child_event_kind::output_abandoned, c, "read failed: " + read_error.message());
    maybe_finish(c);
  }

  void close_output(child_slot& c) {
    c.out_open = false;
    c.drain_timer.cancel();
    c.framer.finish([&](std::string_view piece, piece_kind kind) {
      ++c.messages;
      on_message(message{c.info, stream_kind::out, log_clock::now(), piece, kind});
    });
  }

  void on_exited(child_slot& c, std::error_code wait_error, int wait_status) {
    if (wait_error) {
      // Someone else reaped it (SIGCHLD ignored, or waitpid(-1) in the host): status unknown.
      emit(child_event_kind::output_abandoned, c, "cannot wait for the child: " + wait_error.message());
      c.status = exit_status{};
      c.status->code = -1;
    } else {
      c.status = exit_status::from_wait_status(wait_status);
    }
    if (c.out_open) {
      // A background grandchild may hold the pipe open for ever: give it the grace period.
      c.drain_timer.expires_after(options.stop_grace);
      child_slot* slot = &c;
      c.drain_timer.async_wait(guarded([slot](impl& self, boost::system::error_code ec) {
        if (ec || !slot->out_open) return;
        slot->out->close(true);
        self.close_output(*slot);
        self.emit(child_event_kind::output_abandoned, *slot,
                  "output pipe still open " + std::to_string(self.options.stop_grace.count()) +
                      " ms after the child exited (held by a background process?): closed");
        self.maybe_finish(*slot);
      }));
    }
    maybe_finish(c);
  }

  void maybe_finish(child_slot& c) {
    if (c.finished || !c.status || c.out_open) return;
    c.finished = true;
    if (on_event)
      on_event(child_event{child_event_kind::exited, c.info, c.status, steady::now() - c.started_at, {}});
    if (--unfinished == 0) complete();
  }

  void complete() {
    state = phase::done;
    grace_timer.cancel();
    run_summary summary;
    summary.stopped = stop_requested;
    for (const auto& c : children)
      summary.children.push_back(child_summary{c->info, c->messages, c->bytes, c->status, c->spawn_error});
    auto done = std::move(on_complete);
    on_message = nullptr;
    on_event = nullptr;
    if (done) done(summary);
  }

  void stop() {
    if (state == phase::idle) {  // before start(): it will start nothing
      stop_requested = true;
      return;
    }
    if (state == phase::done) return;
    if (state == phase::stopping || state == phase::killing) {
      escalate();  // a second stop: no more grace
      return;
    }
    stop_requested = true;
    state = phase::stopping;
    for (auto& c : children) {
      if (!c->process) continue;
      // A reaped child's group may still hold its pipe through a grandchild: signal it too.
      if (!c->process->reaped() || c->out_open) c->process->signal(options.stop_signal, true);
    }
    grace_timer.expires_after(options.stop_grace);
    grace_timer.async_wait(guarded([](impl& self, boost::system::error_code ec) {
      if (!ec) self.escalate();
    }));
  }

  void escalate() {
    if (state == phase::done || state == phase::killing) return;
    state = phase::killing;
    grace_timer.cancel();
    for (auto& c : children) {
      if (!c->process || c->finished) continue;
      if (!c->process->reaped()) emit(child_event_kind::stop_escalated, *c, "sent SIGKILL");
      c->process->signal(SIGKILL, true);
    }
  }

  void abandon() {
    grace_timer.cancel();
    for (auto& c : children) {
      c->drain_timer.cancel();
      if (c->out) c->out->close(true);
      c->process.reset();  // SIGKILLs a child that is still running
    }
  }

  bool stop_requested = false;
};

supervisor::supervisor(asio::any_io_executor executor, run_options options)
    : impl_(std::make_shared<impl>(executor, options)) {}

supervisor::~supervisor() {
  impl_->abandoned = true;
  asio::dispatch(impl_->strand, [self = impl_] { self->abandon(); });
}

void supervisor::start(std::vector<program_spec> programs, message_handler on_message,
                       event_handler on_event, completion_handler on_complete) {
  asio::dispatch(impl_->strand,
                 [self = impl_, programs = std::move(programs), on_message = std::move(on_message),
                  on_event = std::move(on_event), on_complete = std::move(on_complete)]() mutable {
                   if (self->abandoned) return;
                   self->programs = std::move(programs);
                   self->on_message = std::move(on_message);
                   self->on_event = std::move(on_event);
                   self->on_complete = std::move(on_complete);
                   if (self->stop_requested)
                     self->complete();  // stopped before it started
                   else
                     self->run();
                 });
}

void supervisor::stop() {
  asio::dispatch(impl_->strand, [weak = std::weak_ptr<impl>(impl_)] {
    if (auto self = weak.lock(); self && !self->abandoned) self->stop();
  });
}

const run_options& supervisor::options() const noexcept { return impl_->options; }

}  // namespace pipemux
