#include "supervisor/child_launch.hpp"

#include <boost/system/system_error.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

#include "process/executable_lookup.hpp"
#include "process/pseudo_terminal.hpp"
#include "process/run_cgroup.hpp"
#include "process/spawn.hpp"
#include "process/unique_fd.hpp"

namespace pipemux::detail {
namespace {

// What ran out when starting a child threw: "Too many open files", "out of memory".
std::string describe_start_failure(const std::exception& e) {
  if (const auto* boost_error = dynamic_cast<const boost::system::system_error*>(&e))
    return boost_error->code().message();
  if (const auto* std_error = dynamic_cast<const std::system_error*>(&e))
    return std_error->code().message();
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return "out of memory";
  return e.what();
}

// The child's ends of its output (and input), and our readers (and writer) of the other ends.
struct output_ends {
  unique_fd child_out, child_err, child_in;
  std::array<std::shared_ptr<pipe_reader>, 2> readers;
  unique_fd input;  // program_spec::input: our end of its stdin
};

// program_spec::input: its stdin is a pipe whose other end is ours or, on a terminal, the
// terminal itself (written through a copy of the master side: the reader has the original).
bool make_input_end(const program_spec& spec, int terminal_master, launch_request& request,
                    output_ends& ends, std::string& why) {
  if (!spec.input) return true;
  if (spec.pty) {
    ends.input.reset(::fcntl(terminal_master, F_DUPFD_CLOEXEC, 3));
    if (ends.input.get() < 0) {
      why = std::string("cannot write to its terminal: ") + std::strerror(errno);
      return false;
    }
    request.stdin_fd = request.stdout_fd;
    return true;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    why = std::string("cannot create a pipe: ") + std::strerror(errno);
    return false;
  }
  ends.child_in.reset(fds[0]);
  ends.input.reset(fds[1]);
  request.stdin_fd = fds[0];
  return true;
}

// Pipes (or the pseudo-terminal), close-on-exec: no sibling may inherit our ends, and the
// child's ends are closed here once it has its copies (ours would hold EOF back). False, with
// `why`, when one could not be made.
bool make_output_ends(const boost::asio::any_io_executor& strand, const program_spec& spec,
                      const run_options& options, const window_size* terminal_size,
                      launch_request& request, output_ends& ends, std::string& why) {
  const bool separate_stderr = !spec.pty && options.stderr_handling == stderr_mode::capture;
  if (spec.pty) {  // stdout and stderr both on the terminal, read as "out"
    std::error_code ec;
    pseudo_terminal terminal = open_pseudo_terminal(ec, terminal_size);
    if (ec) {
      why = "cannot open a pseudo-terminal: " + ec.message();
      return false;
    }
    ends.child_out = std::move(terminal.child);
    ends.readers[static_cast<std::size_t>(stream_kind::out)] =
        std::make_shared<pipe_reader>(strand, terminal.master.release(), options.read_size);
    request.controlling_terminal = true;
  }
  for (auto stream : {stream_kind::out, stream_kind::err}) {
    if (spec.pty || (stream == stream_kind::err && !separate_stderr)) break;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      why = std::string("cannot create a pipe: ") + std::strerror(errno);
      return false;
    }
    (stream == stream_kind::out ? ends.child_out : ends.child_err).reset(fds[1]);
    ends.readers[static_cast<std::size_t>(stream)] =
        std::make_shared<pipe_reader>(strand, fds[0], options.read_size);
  }
  request.stdout_fd = ends.child_out.get();
  request.stderr_fd = separate_stderr ? ends.child_err.get()
                      : spec.pty || options.stderr_handling == stderr_mode::merge
                          ? ends.child_out.get()
                          : -1;
  return true;
}

// The child's cgroup, where it is born; false (with `why`) when the run requires a cgroup and
// this child cannot have one.
bool open_cgroup(const launch_place& place, const run_options& options, std::size_t index,
                 unique_fd& group, std::string& why) {
  if (place.cgroup == nullptr) {
    if (options.cgroup != cgroup_mode::required) return true;
    why = "no cgroup: " + *place.no_cgroup_reason;
    return false;
  }
  std::error_code ec;
  group = place.cgroup->open_for(index, ec);
  if (ec && options.cgroup == cgroup_mode::required) {
    why = "cannot create its cgroup in " + place.cgroup->path() + ": " + ec.message();
    return false;
  }
  return true;
}

std::optional<launched_child> try_launch(const boost::asio::any_io_executor& strand,
                                         const program_spec& spec, const child_info& child,
                                         const program_environment& environment,
                                         const run_options& options, const launch_place& place,
                                         std::string& why) {
  auto target = resolve_exec(spec.argv, spec.working_directory, environment.search_path(), why);
  if (!target) return std::nullopt;
  launch_request request;
  request.executable = std::move(target->executable);
  request.argv = std::move(target->argv);
  request.environment = environment.for_child(child);
  request.working_directory = spec.working_directory;
  request.own_process_group = options.own_process_group;
  request.die_with_parent = options.die_with_parent;
  unique_fd cgroup;  // open until the child has been started in it
  if (!open_cgroup(place, options, child.index, cgroup, why)) return std::nullopt;
  request.cgroup_fd = cgroup.get();
  output_ends ends;
  if (!make_output_ends(strand, spec, options, place.terminal_size, request, ends, why))
    return std::nullopt;
  auto& terminal = ends.readers[static_cast<std::size_t>(stream_kind::out)];
  if (!make_input_end(spec, spec.pty && terminal ? terminal->descriptor() : -1, request, ends, why))
    return std::nullopt;
  std::error_code ec;
  launched_child launched{child_process::launch(strand, request, ec), std::move(ends.readers),
                          std::move(ends.input)};
  if (!launched.process) {
    why = ec.message();
    return std::nullopt;
  }
  return launched;
}

}  // namespace

std::optional<launched_child> launch_child(const boost::asio::any_io_executor& strand,
                                           const program_spec& spec, const child_info& child,
                                           const program_environment& environment,
                                           const run_options& options, launch_place place,
                                           std::string& why) {
  std::optional<launched_child> launched;
  // Out of descriptors (epoll, pidfd) or memory (a 16 MiB read buffer) mid-start: that child
  // could not be started; the others run on. What was made is dropped (a child already
  // started is SIGKILLed and reaped by its child_process).
  try {
    launched = try_launch(strand, spec, child, environment, options, place, why);
  } catch (const std::exception& e) {
    why = describe_start_failure(e);
    launched.reset();
  }
  if (!launched) why = cannot_start(spec, why);
  return launched;
}

std::string cannot_start(const program_spec& spec, const std::string& why) {
  const std::string program = spec.argv.empty() ? std::string() : spec.argv[0];
  return "cannot start '" + program + "': " + why;
}

}  // namespace pipemux::detail

extern char** environ;

namespace pipemux {

std::string start_problem(const program_spec& spec) {
  if (spec.argv.empty()) return detail::cannot_start(spec, "no command");
  const detail::program_environment environment(spec, environ, false);
  std::string why;
  if (!detail::resolve_exec(spec.argv, spec.working_directory, environment.search_path(), why))
    return detail::cannot_start(spec, why);
  return {};
}

}  // namespace pipemux
