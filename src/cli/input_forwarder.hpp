// -i/--input (concurrently's --handle-input): pipemux's stdin goes on to the children's. A line
// "NAME:text" goes to every child of program NAME, "NAME.N:text" to that one child, any other
// line to the target (--input-target, default the first child). pipemux reads its stdin again
// only once the children's pipes have taken what it sent (a child that does not read holds
// it back, as a pipeline would); at its end, every child's stdin ends too.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/program.hpp"
#include "pipemux/supervisor.hpp"

namespace pipemux::cli {

/// Where input lines go: built from the programs to run.
class input_routes {
 public:
  /// Throws usage_error when `target` (NAME or NAME.N; empty: the first child) names no
  /// program or child here.
  input_routes(const std::vector<program_spec>& programs, const std::string& target);

  struct routed {
    std::vector<std::size_t> children;  // child_info::index of each
    std::string_view text;              // the line without its "NAME:"
  };
  /// `line` with its '\n', if it has one.
  routed route(std::string_view line) const;

 private:
  // The children a NAME or NAME.N stands for; empty when none.
  std::vector<std::size_t> children_of(std::string_view name) const;

  struct program_children {
    std::string name;
    std::size_t first;  // index of its first child
    std::size_t count;
  };
  std::vector<program_children> programs_;
  std::vector<std::size_t> target_;
};

class input_forwarder {
 public:
  input_forwarder(boost::asio::io_context& io, supervisor& children, input_routes routes,
                  std::size_t child_count);
  ~input_forwarder();
  input_forwarder(const input_forwarder&) = delete;
  input_forwarder& operator=(const input_forwarder&) = delete;

  /// The run is over: no more reading (stdin is left as it was, open).
  void stop();

 private:
  void read_some();
  void forward(std::string_view data);
  void send(std::string_view text);  // to line_targets_
  void sent_one();
  void end_of_input();

  boost::asio::io_context& io_;
  supervisor& children_;
  input_routes routes_;
  std::size_t child_count_;
  boost::asio::posix::stream_descriptor stdin_;  // our own descriptor of it; closed: a file
  std::vector<char> buffer_;
  bool stopped_ = false;
  // The start of a line whose targets are not known yet (at most decide_limit bytes), then
  // its targets until its end.
  static constexpr std::size_t decide_limit = 4096;
  std::string partial_;
  std::optional<std::vector<std::size_t>> line_targets_;
  std::size_t pending_ = 0;  // writes not completed: no reading until they are
};

}  // namespace pipemux::cli
