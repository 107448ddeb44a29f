// The README's "Embedding" example as a whole program: the children's log on standard output,
// written as a service embedding pipemux should write it.
//
//   pipemux_log_to_stdout COMMAND [ARG...]       (two children of COMMAND, named "worker")
//
// Standard output is written through a pipemux::fd_writer, not by the io_context's thread:
// - a slow reader (`| less` on hold) never blocks the io_context; while the output is behind,
//   the children's pipes are not read, so they block in write and memory stays bounded;
// - the writer's thread blocks every signal, so a reader that goes away (`| head -1`) is an
//   EPIPE reported to on_error, never a SIGPIPE that kills the whole process: the children are
//   stopped, and the program ends on its own. (An fd_sink writing to fd 1 directly, on the
//   io_context's thread, dies of SIGPIPE instead, unless the process ignores it.)
//
// Exit status: 0 when every child exited 0; 1 when a child failed or could not be started, or
// the log could not be written (said on stderr); 141 (128 + SIGPIPE, what a shell shows for a
// writer that `head` closed on, and what the pipemux command exits with) when standard output's
// reader went away: the children were stopped, quietly.
#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <unistd.h>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <pipemux/pipemux.hpp>

namespace {

int run(const std::vector<std::string>& command) {
  // --- as in the README ---
  boost::asio::io_context io;
  pipemux::supervisor sup(io.get_executor());
  // Standard output through a writer thread: a slow reader never blocks the loop, and a reader
  // that goes away (`| head -1`) is an error (EPIPE) for on_error, never a SIGPIPE.
  auto out = std::make_shared<pipemux::fd_writer>(STDOUT_FILENO);
  out->on_error([&](std::error_code) {  // on the writer's thread: the log cannot go on
    boost::asio::post(io, [&] {
      sup.resume_reading();  // what the children still write is read (and dropped)
      sup.stop();
    });
  });
  out->on_backlog([&](bool) {  // crossed a mark: look at the backlog where the loop runs
    boost::asio::post(io, [&] {
      if (out->backlogged())
        sup.pause_reading();  // the children block in write until stdout catches up
      else
        sup.resume_reading();
    });
  });
  auto logger =
      std::make_shared<spdlog::logger>("children", std::make_shared<pipemux::fd_sink_st>(out));
  logger->set_formatter(pipemux::make_log_formatter(pipemux::default_log_pattern));
  pipemux::spdlog_adapter log(logger, io.get_executor());

  pipemux::program_spec worker;
  worker.name = "worker";
  worker.argv = command;  // e.g. {"my-worker", "--flag"}
  worker.instances = 2;
  pipemux::error_code result;
  sup.async_run(
      {worker}, [&](const pipemux::message& m) { log(m); },  // each framed line, on a strand
      [&](const pipemux::child_event& e) { log(e); },
      [&](pipemux::error_code ec, const pipemux::run_summary& s) {
        log(s);  // all reaped, all delivered
        result = ec;
      });
  io.run();
  logger->flush();  // the last lines to the writer, then everything to stdout
  std::promise<void> written;
  out->close([&] { written.set_value(); });
  written.get_future().wait();
  // --- end of the README's part ---

  const std::error_code output = out->error();
  if (output == std::errc::broken_pipe) return 141;  // our reader left: the children were stopped
  if (output)
    std::cerr << "pipemux_log_to_stdout: cannot write the log: " << output.message() << "\n";
  return result || output ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: pipemux_log_to_stdout COMMAND [ARG...]\n";
    return 2;
  }
  try {
    return run({argv + 1, argv + argc});
  } catch (const std::exception& e) {
    std::cerr << "pipemux_log_to_stdout: " << e.what() << "\n";
    return 1;
  }
}
