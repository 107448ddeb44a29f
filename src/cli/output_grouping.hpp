// --group (concurrently's): the children's output in the order of the children, each child's
// whole, as if they had run one after the other. The first child not done yet is written as
// it comes; the others' output (and their start and exit reports) is held until every child
// before them is done, then written at once, with the times it arrived.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "pipemux/events.hpp"
#include "pipemux/log_outputs.hpp"
#include "pipemux/message.hpp"
#include "pipemux/program.hpp"

namespace pipemux::cli {

class output_grouping {
 public:
  /// What may be held at once, all children together (their text and the bookkeeping of each
  /// line): past it, the child that holds most is written at once (out of order, said in the
  /// log) rather than grow without bound.
  static constexpr std::size_t max_held_bytes = std::size_t{64} << 20;

  output_grouping(boost::asio::io_context& io, log_outputs& log,
                  const std::vector<program_spec>& programs);

  void operator()(std::span<const message> read);
  void operator()(const child_event& e);
  /// The run is over: what is still held, in the children's order.
  void flush_all();

 private:
  // One held read (its bytes copied: the read buffer is reused), or one report.
  struct held_item {
    std::string bytes;              // the read's pieces, one after the other
    std::vector<message> messages;  // views into `bytes`; empty for a report
    std::optional<child_event> event;
    log_clock::time_point when;
  };
  struct child_state {
    std::deque<held_item> held;
    std::size_t held_bytes = 0;
    bool done = false;         // its last run is over (or it never starts)
    bool end_pending = false;  // exited: done unless a restart is said at once
    bool starts_anyway = false;
  };

  void hold(child_state& child, std::span<const message> read);
  void write(child_state& child);
  void child_done(std::size_t index);
  void advance();
  void relieve_memory();

  boost::asio::io_context& io_;
  log_outputs& log_;
  std::vector<child_state> children_;
  std::size_t active_ = 0;  // its output is written as it comes
  std::size_t held_bytes_ = 0;
};

}  // namespace pipemux::cli
