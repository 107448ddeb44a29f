// pipemux's command line: parses, wires the library to a spdlog logger, and runs.
//
// Process-wide settings that only the CLI makes (the library never does):
// - SIGPIPE is ignored, so a closed stdout (`| head`) is a write error we handle: children are
//   stopped and pipemux exits 141, quietly. Children get SIGPIPE's default back before exec.
// - SIGINT, SIGTERM and SIGHUP are caught (asio::signal_set) to stop the children; a second
//   request kills them at once; a third gives up on a stalled output (stop_requests.hpp: a copy
//   forwarded by a wrapper is not a second request). Once the run is over they are blocked, so
//   that a late one does not kill pipemux by its default action before it exits.
// - It is a child subreaper (or PID 1): orphaned descendants of its children come back to it,
//   are reaped, named in the log and stopped at the end of the run (see orphan_reaper.hpp);
//   SIGCHLD is caught for that.
// - The open-files soft limit is raised to the hard limit, for a thousand children; the
//   children inherit it, as they would from a shell after `ulimit -n`.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>

#include "check.hpp"
#include "command_line.hpp"
#include "control_client.hpp"
#include "control_directory.hpp"
#include "control_server.hpp"
#include "input_forwarder.hpp"
#include "orphan_reaper.hpp"
#include "output_grouping.hpp"
#include "own_failure.hpp"
#include "pipemux/env_file.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/log_outputs.hpp"
#include "pipemux/supervisor.hpp"
#include "pipemux/terminal_style.hpp"
#include "report.hpp"
#include "run_signals.hpp"
#include "run_timings.hpp"
#include "spam.hpp"
#include "status_table.hpp"
#include "systemd_notify.hpp"
#include "terminal_size.hpp"

namespace {
namespace asio = boost::asio;
using namespace pipemux;
using namespace std::chrono_literals;
namespace exit_code = cli::exit_code;

std::vector<program_spec> programs_to_run(const config& cfg) {
  if (!cfg.programs.empty()) return cfg.resolved_programs();
  program_spec spam;
  spam.name = "spam";
  spam.argv = cli::spam_argv(cfg.spam);
  spam.instances = cfg.children;
  spam.environment = cfg.environment;
  spam.pty = cfg.pty;
  return {std::move(spam)};
}

// Each child takes three descriptors (two pipes and a pidfd): a thousand children need more
// than the usual soft limit of 1024, so the CLI raises it to the hard limit.
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// After a stop request, how long the output may take to write the log once every child had its
// grace: docker stop's 10 s leave room for the default 5 s grace and this.
constexpr std::chrono::milliseconds flush_after_stop{2000};

std::chrono::milliseconds longest_stop_grace(const run_options& run,
                                             const std::vector<program_spec>& programs) {
  std::chrono::milliseconds longest = run.stop_grace;
  for (const auto& program : programs)
    longest = std::max(longest, program.stop_grace.value_or(0ms));
  return longest;
}

std::size_t count_children(const std::vector<program_spec>& programs) {
  std::size_t children = 0;
  for (const auto& program : programs) children += program.instances;
  return children;
}

// What the run's buffers may take at most: for each pipe a read buffer (always) and a line of
// max_line being joined (its framer's), and for the line being logged its copies on the way to
// the log (the read's, the escaped text, the writer's queue).
std::string memory_problem(const config& cfg, const std::vector<program_spec>& programs) {
  const std::size_t children = count_children(programs);
  const std::size_t pipes_each = cfg.run.stderr_handling == stderr_mode::capture ? 2 : 1;
  const std::size_t pipes = children * pipes_each;
  const std::size_t may_need =
      pipes * (cfg.run.read_size + cfg.run.max_line) + 3 * cfg.run.max_line;
  const std::string shortfall = cli::address_space_shortfall(may_need);
  if (shortfall.empty()) return {};
  return fmt::format(
      "{}: {} pipe{} read {} bytes at a time, each joining lines up to max_line {} bytes long, may "
      "need up "
      "to {:.1f} MB more: lower max_line or read_size (--max-line, --read-size), or raise the "
      "limit",
      shortfall, pipes, pipes == 1 ? "" : "s", cfg.run.read_size, cfg.run.max_line,
      static_cast<double>(may_need) / 1e6);
}

// How the run ended, for the exit code.
struct outcome {
  int stop_signal = 0;                    // the first SIGINT/SIGTERM/SIGHUP received
  std::optional<output_failure> failure;  // an output of the log could not be written
  std::size_t dropped = 0;                // bytes of log given up on a stalled output
  bool log_lost = false;                  // a sink dropped messages (said on stderr)
  std::optional<run_summary> summary;
  bool children_failed = false;  // those --success looks at
};

int exit_code_of(const outcome& o, bool stdout_is_terminal) {
  if (o.dropped > 0)
    std::cerr << "pipemux: " << signal_name(o.stop_signal)
              << ": the output is stalled: " << o.dropped << " bytes of the log were not written\n";
  if (o.failure) {
    const std::error_code ec = o.failure->error;
    const bool reader_gone = ec == std::errc::broken_pipe || ec == std::errc::io_error;
    const bool to_terminal = o.failure->to_stdout && stdout_is_terminal;
    // A hangup takes the terminal and sends SIGHUP: that is how the run ended.
    if (o.stop_signal != 0 && reader_gone && o.failure->detail.empty()) return 128 + o.stop_signal;
    // The terminal hung up (its window closed, the ssh connection dropped), with or without
    // a SIGHUP reaching us: as if SIGHUP had ended the run, quietly.
    if (to_terminal && ec == std::errc::io_error) return 128 + SIGHUP;
    if (o.failure->to_stdout && ec == std::errc::broken_pipe) return exit_code::output_closed;
    return cli::report_error("cannot write the log to " + o.failure->output + ": " +
                                 (o.failure->detail.empty() ? ec.message() : o.failure->detail),
                             exit_code::output_failed);
  }
  if (o.stop_signal != 0) return 128 + o.stop_signal;
  if (o.summary && o.summary->callback_exception) return exit_code::pipemux_failed;
  if (o.log_lost) return exit_code::log_lost;
  if (o.summary && o.summary->any_spawn_failed()) return exit_code::spawn_failed;
  if (o.children_failed) return exit_code::child_failed;
  return exit_code::ok;
}

// One run of the CLI: the supervisor, its log, the subreaper and the signals, and how they end.
class supervised_run {
 public:
  supervised_run(asio::io_context& io, const cli::supervise_request& request,
                 std::vector<program_spec> programs, log_outputs& log,
                 std::optional<cli::control_server> control)
      : io_(io),
        cfg_(request.cfg),
        success_(request.success),
        timings_wanted_(request.timings),
        input_wanted_(request.input),
        input_target_(request.input_target),
        grouping_(request.group ? std::make_optional<cli::output_grouping>(io, log, programs)
                                : std::nullopt),
        programs_(std::move(programs)),
        log_(log),
        children_(io.get_executor(), request.cfg.run),
        reaper_(io,
                [this](bool notable, const std::string& text) {
                  log_.note(notable ? spdlog::level::warn : spdlog::level::info, text);
                }),
        give_up_timer_(io),
        notifier_(io, programs_, request.cfg.run.max_running),
        signals_(io, {.stop = [this](int sig) { stop(sig); },
                      .kill = [this](int sig) { kill(sig); },
                      .give_up = [this](int sig) { give_up(sig); },
                      .reopen = [this] { reopen(); },
                      .report = [this] { report_deliveries("received SIGUSR2"); },
                      .resize = any_on_a_terminal(programs_)
                                    ? std::function<void()>([this] { pass_the_terminal_size(); })
                                    : nullptr}),
        control_(std::move(control)) {
    follow_the_outputs();
    if (control_)
      control_->serve(
          [this](const cli::control_request& asked, const std::string& requested_by,
                 const std::function<void(std::string)>& reply) {
            answer(asked, requested_by, reply);
          },
          [this](const std::string& refusal) { log_.note(spdlog::level::warn, refusal); });
    reaper_.also_theirs([this](int pid) { return children_.supervises(pid); });
    if (any_on_a_terminal(programs_)) pass_the_terminal_size();
  }

  outcome run() {
    if (input_wanted_)  // routes checked by the command line already
      input_.emplace(io_, children_, cli::input_routes(programs_, input_target_),
                     count_children(programs_));
    // A read at once: the log line's prefix is formatted once per read (one child, one stream).
    children_.async_run_per_read(
        programs_,
        [this](std::span<const message> read) {
          if (grouping_)
            (*grouping_)(read);
          else
            log_(read);
        },
        [this](const child_event& e) { on_event(e); },
        [this](error_code, run_summary s) { on_complete(std::move(s)); });
    io_.run();
    return result_;
  }

 private:
  // The outputs' backlog pauses the reading of the children (flow control); the first output
  // that fails stops the run.
  void follow_the_outputs() {
    // Backlog changes come from this thread (writing) and the writers' (draining), so their
    // calls can arrive out of order: each one only schedules a look at the backlog as it is
    // then. (Acting on the argument once left reading paused for good.)
    log_.on_backlog([this] {
      // On the loop itself (the journal's and syslog's senders), at once: the reads already
      // queued are not delivered before the pause (one read of short lines is a megabyte of
      // syslog frames).
      if (io_.get_executor().running_in_this_thread())
        follow_backlog();
      else
        asio::post(io_, [this] { follow_backlog(); });
    });
    log_.on_error([this](output_failure failure) {  // on a writer's thread, or this one
      asio::post(io_, [this, failure = std::move(failure)] {
        result_.failure = failure;
        children_.resume_reading();  // what the children still write is read and dropped
        children_.stop();
      });
    });
  }

  void follow_backlog() {
    if (log_.backlogged())
      children_.pause_reading();
    else
      children_.resume_reading();
  }

  void stop(int sig) {
    if (stopping_) return kill(sig);  // stop-all asked first: this signal is the second request
    stopping_ = true;
    result_.stop_signal = sig;
    notifier_.stopping("received " + signal_name(sig));
    log_.note(spdlog::level::info, "received " + signal_name(sig) +
                                       ": stopping the children (again to kill them at once)");
    // First: the stop may reach the children at once, and a parent that dies then leaves its
    // escaped descendants in nobody's tree for a moment.
    reaper_.stop_escaped(cfg_.run.stop_signal, cfg_.run.stop_grace);
    children_.stop();
    give_up_after(log_complete_ ? flush_after_stop
                                : longest_stop_grace(cfg_.run, programs_) + flush_after_stop);
  }

  void kill(int sig) {
    const std::string again = sig == result_.stop_signal ? signal_name(sig) + " again"
                              : result_.stop_signal == 0
                                  ? signal_name(sig) + " after stop-all"
                                  : signal_name(sig) + " after " + signal_name(result_.stop_signal);
    if (result_.stop_signal == 0) result_.stop_signal = sig;
    kill_children("received " + again);
  }

  // A second request to stop (signal or pipemux ctl stop-all): no more grace.
  void kill_children(const std::string& why) {
    log_.note(spdlog::level::warn, why + ": killing the children");
    reaper_.kill_all();
    children_.stop();
    if (log_complete_) give_up_on_output();  // nothing else is waited for
    give_up_after(flush_after_stop);
  }

  void give_up(int sig) {
    log_.note(spdlog::level::warn, "received " + signal_name(sig) +
                                       " (a third request): no longer waiting for the output");
    give_up_on_output();
  }

  // An output that does not take the log must not hold the run up once it was asked to stop
  // (`docker stop` waits only so long): what is still queued is given up and counted, and the
  // children's last output is read and dropped, so the run can end.
  void give_up_on_output() {
    log_.abandon();
    children_.resume_reading();
  }

  void give_up_after(std::chrono::milliseconds delay) {
    give_up_timer_.expires_after(delay);
    give_up_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !finished_) give_up_on_output();
    });
  }

  static bool any_on_a_terminal(const std::vector<program_spec>& programs) {
    return std::any_of(programs.begin(), programs.end(), [](const auto& p) { return p.pty; });
  }

  // --pty: the children's terminals take the size of pipemux's own, at the start and after
  // each SIGWINCH (their programs redraw for it), as a terminal multiplexer does.
  void pass_the_terminal_size() {
    if (const auto size = cli::own_terminal_size())
      children_.set_terminal_size(size->rows, size->columns);
  }

  // SIGUSR1: logrotate has moved the files away (its postrotate step); open them again.
  void reopen() {
    const std::vector<std::string> problems = log_.reopen();
    for (const auto& problem : problems) log_.note(spdlog::level::err, problem);
    if (problems.empty()) log_.note(spdlog::level::info, "received SIGUSR1: log files reopened");
  }

  // SIGUSR2 (and pipemux ctl outputs): what each syslog and journal output did so far, a line
  // each in the log.
  void report_deliveries(const std::string& why) {
    const std::vector<delivery_report> all = log_.deliveries();
    if (all.empty()) log_.note(spdlog::level::info, why + ": no syslog or journal output");
    for (const auto& report : all) log_.note(spdlog::level::info, why + ": " + describe(report));
  }

  // A request on the control socket (pipemux ctl): `reply` gets "ok\n..." or "error: ...\n".
  void answer(const cli::control_request& request, const std::string& requested_by,
              const std::function<void(std::string)>& reply) {
    using verb = cli::control_request::verb;
    auto said = [reply](std::error_code ec, const std::string& what) {
      reply(ec ? "error: " + what + "\n" : "ok\n" + what + "\n");
    };
    switch (request.what) {
      case verb::status:
        return children_.status([reply, json = request.json](const std::vector<child_status>& all) {
          std::string text = "ok\n";
          for (const auto& line : json ? cli::status_json(all) : cli::status_table(all))
            text += line + '\n';
          reply(std::move(text));
        });
      case verb::outputs: {
        std::string text = "ok\n";
        for (const auto& report : log_.deliveries())
          text += (request.json ? to_json(report) : describe(report)) + '\n';
        return reply(std::move(text));
      }
      case verb::reopen: {
        const std::vector<std::string> problems = log_.reopen();
        for (const auto& problem : problems) log_.note(spdlog::level::err, problem);
        if (!problems.empty()) return said(std::make_error_code(std::errc::io_error), problems[0]);
        log_.note(spdlog::level::info, "reopen asked by " + requested_by + ": log files reopened");
        return said({}, "log files reopened");
      }
      case verb::stop_all:
        if (finished_ || log_complete_)
          return said(std::make_error_code(std::errc::operation_not_permitted), "the run is over");
        stop_asked(requested_by);
        return said({}, "stopping every child");
      default:
        break;
    }
    if (grouping_)
      return said(std::make_error_code(std::errc::operation_not_supported),
                  "restart, stop, start and scale are not offered with --group (it writes each "
                  "child's output in the children's order)");
    if (request.what == verb::scale) {
      if (input_wanted_)  // the input's routes and its end were laid out for the first children
        return said(std::make_error_code(std::errc::operation_not_supported),
                    "scale is not offered with -i (the input goes to the children it started "
                    "with)");
      return children_.scale(request.target, request.count, requested_by, said);
    }
    std::vector<std::string> names;
    for (const auto& program : programs_) names.push_back(program.name);
    const child_selector which = cli::resolve_target(request.target, names);
    if (request.what == verb::restart)
      children_.restart_children(which, requested_by, said);
    else if (request.what == verb::stop)
      children_.stop_children(which, requested_by, said);
    else
      children_.start_children(which, requested_by, said);
  }

  // pipemux ctl stop-all: as a SIGTERM, without a signal to count (the exit code is the run's).
  void stop_asked(const std::string& requested_by) {
    const std::string why = "stop-all asked by " + requested_by;
    if (stopping_)  // as a second signal
      return kill_children(why + (result_.stop_signal != 0
                                      ? " after " + signal_name(result_.stop_signal)
                                      : std::string(" again")));
    stopping_ = true;
    notifier_.stopping(why);
    log_.note(spdlog::level::info, why + ": stopping the children (again to kill them at once)");
    reaper_.stop_escaped(cfg_.run.stop_signal, cfg_.run.stop_grace);
    children_.stop();
    give_up_after(longest_stop_grace(cfg_.run, programs_) + flush_after_stop);
  }

  void on_event(const child_event& e) {
    if (e.kind == child_event_kind::started) reaper_.track(e.child->pid);
    // stop_on ended the run: what escaped the children is stopped with them
    if (e.kind == child_event_kind::stopping_others) {
      reaper_.stop_escaped(cfg_.run.stop_signal, cfg_.run.stop_grace);
      notifier_.stopping(describe(e));
    }
    if (grouping_)
      (*grouping_)(e);
    else
      log_(e);
    if (e.kind == child_event_kind::exited) reaper_.untrack(e.child->pid);
    timings_.record(e);
    notifier_.on_event(e);
  }

  void on_complete(run_summary summary) {
    result_.summary = std::move(summary);
    notifier_.stopping("every child has ended");
    result_.children_failed = success_.failed(*result_.summary, timings_.end_order());
    if (result_.summary->callback_exception) report_logging_failure();
    // What escaped the children's process groups is stopped like them, then the summary.
    reaper_.stop_all(cfg_.run.stop_signal, cfg_.run.stop_grace, [this] {
      if (grouping_) grouping_->flush_all();
      log_(*result_.summary);
      if (timings_wanted_)
        for (const auto& line : timings_.table(*result_.summary))
          log_.note(spdlog::level::info, line);
      log_complete_ = true;
      log_.close([this] {  // on a writer's thread, once the log is written
        asio::post(io_, [this] { finish(); });
      });
    });
  }

  // Logging threw (out of memory): the supervisor stopped the children.
  void report_logging_failure() {
    const std::string why =
        "cannot log: " + cli::describe_own_failure(result_.summary->callback_exception) +
        ": the children were stopped";
    cli::report_error(why, exit_code::pipemux_failed);
    try {  // into the log too, if it can be written at all now
      log_.note(spdlog::level::err, why);
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): said on stderr
    }
  }

  void finish() {
    finished_ = true;
    give_up_timer_.cancel();
    if (input_) input_->stop();  // its wait on stdin would keep the loop running
    result_.log_lost = log_.lost_anything();
    result_.dropped = log_.dropped_bytes();
    signals_.close();
    if (control_) control_->close();
    reaper_.close();
    notifier_.close();
  }

  asio::io_context& io_;
  const config& cfg_;
  const cli::success_rule success_;
  const bool timings_wanted_;
  const bool input_wanted_;
  const std::string input_target_;
  std::optional<cli::output_grouping> grouping_;  // --group
  cli::run_timings timings_;                      // for --timings and --success first/last
  const std::vector<program_spec> programs_;
  log_outputs& log_;
  supervisor children_;
  cli::orphan_reaper reaper_;
  asio::steady_timer give_up_timer_;
  cli::systemd_notifier notifier_;  // before the children start: it unsets NOTIFY_SOCKET
  cli::run_signals signals_;
  std::optional<cli::input_forwarder> input_;   // -i: after children_, which it writes to
  std::optional<cli::control_server> control_;  // --control
  outcome result_;
  bool log_complete_ = false;  // all is logged: only the output may still be waited for
  bool finished_ = false;      // the run is over and the log written (or given up)
  bool stopping_ = false;      // a stop was asked for: a signal, or pipemux ctl stop-all
};

// --control PATH, none, or by default a socket named after our pid in the default directory
// (a run in a PID namespace of its own may share that name with another: then -1, -2, ...).
std::optional<cli::control_server> open_control_socket(asio::io_context& io,
                                                       const std::string& asked,
                                                       std::string& error) {
  if (asked == "none") return std::nullopt;
  if (!asked.empty()) return cli::control_server::open(io, asked, false, error);
  const std::string dir = cli::default_control_directory();
  if (dir.empty()) return std::nullopt;  // a user without XDG_RUNTIME_DIR: none, quietly
  for (int attempt = 0; attempt < 10; ++attempt) {
    error.clear();
    const std::string path = attempt == 0 ? fmt::format("{}/{}.sock", dir, ::getpid())
                                          : fmt::format("{}/{}-{}.sock", dir, ::getpid(), attempt);
    if (auto control = cli::control_server::open(io, path, true, error)) return control;
    if (error.find("is in use") == std::string::npos) break;
  }
  return std::nullopt;
}

int supervise(cli::supervise_request request) {
  config& cfg = request.cfg;
  asio::io_context io;
  std::optional<log_outputs> outputs;
  try {
    outputs.emplace(cfg.log, programs_to_run(cfg), io.get_executor(), environment_lookup);
  } catch (const output_open_error& e) {
    return cli::report_error(e.what(), exit_code::usage);
  }
  log_outputs& log = *outputs;
  // Run out of memory for sure on the first long line? Say so now, not mid-run.
  if (const std::string problem = memory_problem(cfg, programs_to_run(cfg)); !problem.empty()) {
    return cli::report_error(problem, exit_code::pipemux_failed);
  }
  std::string no_control;  // why the default control socket could not be made
  std::optional<cli::control_server> control = open_control_socket(io, request.control, no_control);
  if (!control && !no_control.empty() && !request.control.empty())  // --control PATH
    return cli::report_error("--control: " + no_control, exit_code::usage);
  if (!no_control.empty()) log.note(spdlog::level::warn, "no control socket: " + no_control);
  force_color_in_children(cfg.log, log.coloured(), environment_lookup, cfg.environment);
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_files_limit();
  std::vector<program_spec> programs = programs_to_run(cfg);
  for (auto& program : programs) program.input = request.input;  // -i: every child's stdin
  const outcome result =
      supervised_run(io, request, std::move(programs), log, std::move(control)).run();
  return exit_code_of(result, log.stdout_is_terminal());
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything opens a file: a closed fd 0, 1 or 2 would be reused by the next open (a
  // config file, a pipe) and written over. Hold /dev/null there instead, and remember.
  bool stdout_closed = false;
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      stdout_closed = stdout_closed || fd == STDOUT_FILENO;
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0 && null_fd != fd) {
        ::dup2(null_fd, fd);
        ::close(null_fd);
      }
    }
  const cli::command cmd = cli::parse_command_line(argc, argv);
  if (const int* code = std::get_if<int>(&cmd)) return *code;
  if (const auto* spam = std::get_if<cli::spam_request>(&cmd))
    return cli::run_spam(spam->options, spam->index, spam->record_prefix);
  if (const auto* ctl = std::get_if<cli::ctl_request>(&cmd))
    return cli::run_ctl(*ctl, std::cout, std::cerr);
  if (const auto* check = std::get_if<cli::check_request>(&cmd))
    return cli::check_run(check->cfg, programs_to_run(check->cfg), std::cout);
  try {
    const auto& request = std::get<cli::supervise_request>(cmd);
    const config& cfg = request.cfg;
    const bool to_stdout =
        cfg.log.sinks.empty() || std::any_of(cfg.log.sinks.begin(), cfg.log.sinks.end(),
                                             [](const auto& sink) { return sink.to_stdout(); });
    if (stdout_closed && to_stdout) {
      return cli::report_error(
          "standard output is closed: give -o FILE for the log (or >/dev/null to discard it)",
          exit_code::usage);
    }
    return supervise(request);
  } catch (...) {  // pipemux's own failure: out of memory, of descriptors, ...
    return cli::report_error(cli::describe_own_failure(std::current_exception()),
                             exit_code::pipemux_failed);
  }
}
