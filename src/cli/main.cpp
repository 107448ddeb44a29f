// pipemux's command line: parses, wires the library to a spdlog logger, and runs.
//
// Process-wide settings that only the CLI makes (the library never does):
// - SIGPIPE is ignored, so a closed stdout (`| head`) is a write error we handle: children are
//   stopped and pipemux exits 141, quietly. Children get SIGPIPE's default back before exec.
// - SIGINT, SIGTERM and SIGHUP are caught (asio::signal_set) to stop the children; a second
//   one kills them at once.
// - The open-files soft limit is raised to the hard limit, for a thousand children; the
//   children inherit it, as they would from a shell after `ulimit -n`.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>

#include "command_line.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/fd_sink.hpp"
#include "pipemux/spdlog_adapter.hpp"
#include "pipemux/supervisor.hpp"
#include "spam.hpp"

namespace {
namespace asio = boost::asio;
using namespace pipemux;
namespace exit_code = cli::exit_code;

std::vector<program_spec> programs_to_run(const config& cfg) {
  if (!cfg.programs.empty()) return cfg.resolved_programs();
  program_spec spam;
  spam.name = "spam";
  spam.argv = cli::spam_argv(cfg.spam);
  spam.instances = cfg.children;
  return {std::move(spam)};
}

int open_output(const std::string& path) {
  if (path.empty() || path == "-") return STDOUT_FILENO;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
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

int supervise(const config& cfg) {
  const int out_fd = open_output(cfg.log.output);
  if (out_fd < 0) {
    std::cerr << "pipemux: error: cannot open output '" << cfg.log.output
              << "': " << std::strerror(errno) << "\n";
    return exit_code::usage;
  }
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_files_limit();

  asio::io_context io;
  auto sink = std::make_shared<fd_sink_st>(out_fd, out_fd != STDOUT_FILENO);
  auto logger = std::make_shared<spdlog::logger>("pipemux", sink);
  try {
    logger->set_formatter(
        make_log_formatter(cfg.log.pattern.empty() ? default_log_pattern : cfg.log.pattern));
  } catch (const std::exception& e) {
    std::cerr << "pipemux: error: log pattern '" << cfg.log.pattern << "': " << e.what() << "\n";
    return exit_code::usage;
  }
  spdlog_adapter log(logger, io.get_executor());
  supervisor children(io.get_executor(), cfg.run);

  std::error_code output_error;
  sink->on_write_error([&](std::error_code ec) {
    output_error = ec;  // runs inside the sink: only note it and stop, never log from here
    asio::post(io, [&] { children.stop(); });
  });

  int stop_signal = 0;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (stop_signal == 0) {
        stop_signal = sig;
        log.note(spdlog::level::info, "received " + signal_name(sig) +
                                          ": stopping the children (again to kill them at once)");
      } else {
        log.note(spdlog::level::warn,
                 "received " + signal_name(sig) + " again: killing the children");
      }
      children.stop();
      wait_for_signal();
    });
  };
  wait_for_signal();

  std::optional<run_summary> summary;
  children.async_run(
      programs_to_run(cfg), [&](const message& m) { log(m); },
      [&](const child_event& e) { log(e); },
      [&](error_code, run_summary s) {
        log(s);
        summary = std::move(s);
        signals.cancel();
      });
  io.run();
  logger->flush();

  if (output_error) {
    if (output_error == std::errc::broken_pipe) return exit_code::output_closed;
    std::cerr << "pipemux: error: cannot write the log to "
              << (cfg.log.output.empty() ? std::string("standard output")
                                         : "'" + cfg.log.output + "'")
              << ": " << output_error.message() << "\n";
    return exit_code::output_failed;
  }
  if (stop_signal != 0) return 128 + stop_signal;
  if (summary && summary->any_spawn_failed()) return exit_code::spawn_failed;
  if (summary && summary->any_failed()) return exit_code::child_failed;
  return exit_code::ok;
}

}  // namespace

int main(int argc, char** argv) {
  const cli::command cmd = cli::parse_command_line(argc, argv);
  if (const int* code = std::get_if<int>(&cmd)) return *code;
  if (const auto* spam = std::get_if<cli::spam_request>(&cmd))
    return cli::run_spam(spam->options, spam->index, spam->record_prefix);
  try {
    return supervise(std::get<cli::supervise_request>(cmd).cfg);
  } catch (const std::exception& e) {
    std::cerr << "pipemux: error: " << e.what() << "\n";
    return exit_code::child_failed;
  }
}
