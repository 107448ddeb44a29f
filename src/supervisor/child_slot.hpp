// One child of the supervisor across its restarts: its current process and pipes, its
// lifecycle, its timers, and what it has written so far.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "pipemux/events.hpp"
#include "pipemux/framer.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"
#include "process/child_process.hpp"
#include "process/input_writer.hpp"
#include "process/pipe_reader.hpp"
#include "readiness/probe_attempt.hpp"
#include "supervisor/child_lifecycle.hpp"

namespace pipemux::detail {

// One of a child's output pipes, with the framing state of its stream.
struct output_channel {
  explicit output_channel(std::size_t max_line) : framer(max_line) {}
  std::shared_ptr<pipe_reader> reader;
  line_framer framer;
  bool open = false;
  bool held = false;              // a message_batch of its last read is not released yet
  std::uint64_t hold_serial = 0;  // which batch holds it: a late release of another is ignored
};

// One child across its restarts: its current process and pipes, and what is known so far.
struct child_slot {
  child_slot(const boost::asio::any_io_executor& executor, const program_spec& spec,
             std::size_t index_of_program, const run_options& options)
      : program(&spec),
        program_index(index_of_program),
        life(lifecycle_policy::of(spec, options)),
        channels{output_channel(options.max_line), output_channel(options.max_line)},
        drain_timer(executor),
        restart_timer(executor),
        probe_timer(executor) {}

  std::shared_ptr<const child_info> info;  // immutable: replaced when a run starts or fails
  const program_spec* program;
  std::size_t program_index;  // in the supervisor's programs
  child_lifecycle life;       // its status, restarts, stop and grace: what to do next
  std::unique_ptr<child_process> process;
  std::array<output_channel, 2> channels;  // indexed by stream_kind
  boost::asio::steady_timer drain_timer;   // bounds how long pipes may outlive the child
  boost::asio::steady_timer restart_timer;
  std::chrono::steady_clock::time_point started_at;
  std::chrono::steady_clock::time_point
      exited_at;  // reaped: the run time does not count draining its pipes
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t reads = 0;                 // over all its runs; tells the drain timer it flows
  std::uint64_t reads_at_drain_check = 0;  // `reads` when the drain timer was last armed
  std::string spawn_error;
  std::size_t runs = 0;            // processes started, over all its runs
  std::size_t asked_restarts = 0;  // starts asked by the host after a first run (control.cpp)
  bool scaled_away = false;        // supervisor::scale() stopped it: a scale up starts it again
  std::shared_ptr<input_writer> input;  // program_spec::input, while a run of it goes on
  bool input_closed = false;            // close_input: EOF, now and for its later runs
  // Sent while it had no run (it waits for its turn, its dependencies or a restart): written
  // when the next one starts, in order.
  std::deque<std::pair<std::string, input_writer::written_handler>> waiting_input;
  std::size_t waiting_bytes = 0;
  static constexpr std::size_t max_waiting_input = std::size_t{1} << 20;

  // Dependencies and readiness (readiness.cpp).
  bool launched = false;           // started, tried, or never to be: no longer waits its turn
  bool ever_started = false;       // a process of it ran at some time
  bool waiting_said = false;       // the `waiting` event went out
  bool dependency_waived = false;  // a dependency failed and it starts anyway
  std::string dependency_error;    // it never starts: a dependency failed
  bool ready = false;              // its current run got ready (at once, without a probe)
  std::string not_ready;           // its current run's ready probe timed out
  bool stop_deferred = false;      // the run stops: its stop waits for its dependents' ends
  bool stopped_not_alive = false;  // its current run was stopped by its liveness probe
  enum class probing { none, log, ready, alive } probe_phase = probing::none;
  unsigned probe_generation = 0;   // one per run: a late answer for another run is ignored
  std::size_t alive_failures = 0;  // liveness attempts failed in a row
  std::string last_probe;          // what the last failed attempt got
  std::chrono::steady_clock::time_point ready_deadline;
  boost::asio::steady_timer probe_timer;  // the next attempt, the deadline, or a liveness grace
  std::shared_ptr<probe_attempt> attempt;
  std::array<std::string, 2> log_line;  // a log probe's line so far, by stream

  bool any_channel_open() const { return channels[0].open || channels[1].open; }
  bool any_channel_held() const { return channels[0].held || channels[1].held; }

  // Output is still flowing when a read completed since the last check, or when a pipe holds
  // bytes or an EOF not read yet (the loop may have been too busy, or paused, to read them).
  bool output_flowing_since_last_check() const {
    if (reads != reads_at_drain_check) return true;
    for (const auto& channel : channels)
      if (channel.open && channel.reader->has_input()) return true;
    return false;
  }
};

}  // namespace pipemux::detail
