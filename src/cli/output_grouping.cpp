#include "output_grouping.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "pipemux/name_escape.hpp"

namespace pipemux::cli {

output_grouping::output_grouping(boost::asio::io_context& io, log_outputs& log,
                                 const std::vector<program_spec>& programs)
    : io_(io), log_(log) {
  for (const auto& p : programs)
    for (std::size_t i = 0; i < p.instances; ++i) {
      children_.emplace_back();
      children_.back().starts_anyway = p.on_dependency_failure == dependency_failure::start_anyway;
    }
}

void output_grouping::operator()(std::span<const message> read) {
  if (read.empty()) return;
  const std::size_t index = read.front().child->index;
  if (index >= children_.size() || index == active_) return log_(read);
  hold(children_[index], read);
}

void output_grouping::operator()(const child_event& e) {
  const std::size_t index = e.child->index;
  if (index >= children_.size()) return log_(e);
  child_state& child = children_[index];
  if (index == active_) {
    log_(e);
  } else {
    child.held.push_back({{}, {}, e, log_clock::now()});
    const std::size_t cost = sizeof(held_item) + e.detail.size();
    child.held_bytes += cost;
    held_bytes_ += cost;
    if (held_bytes_ > max_held_bytes) relieve_memory();
  }
  switch (e.kind) {
    case child_event_kind::exited:
      // A restart is said in the same turn of the loop as the exit (restarting): done only if
      // none came.
      child.end_pending = true;
      boost::asio::post(io_, [this, index] {
        if (children_[index].end_pending) child_done(index);
      });
      break;
    case child_event_kind::restarting:
      child.end_pending = false;
      break;
    case child_event_kind::spawn_failed:
      child_done(index);
      break;
    case child_event_kind::dependency_failed:
      if (!child.starts_anyway) child_done(index);
      break;
    default:
      break;
  }
}

void output_grouping::hold(child_state& child, std::span<const message> read) {
  // Built where it stays (a deque does not move its elements): the views point into `bytes`,
  // which a move of a short string would leave.
  held_item& item = child.held.emplace_back();
  std::size_t size = 0;
  for (const auto& m : read) size += m.bytes.size();
  item.bytes.reserve(size);
  for (const auto& m : read) item.bytes.append(m.bytes);
  std::size_t at = 0;
  for (const auto& m : read) {
    message copy = m;
    copy.bytes = std::string_view(item.bytes).substr(at, m.bytes.size());
    at += m.bytes.size();
    item.messages.push_back(std::move(copy));
  }
  item.when = read.front().arrival;
  // What it costs, not only its text: a read of empty lines is all bookkeeping.
  const std::size_t cost = size + sizeof(held_item) + item.messages.capacity() * sizeof(message);
  child.held_bytes += cost;
  held_bytes_ += cost;
  if (held_bytes_ > max_held_bytes) relieve_memory();
}

void output_grouping::write(child_state& child) {
  for (auto& item : child.held) {
    if (item.event)
      log_(*item.event, item.when);
    else
      log_(std::span<const message>(item.messages));
  }
  child.held.clear();
  held_bytes_ -= child.held_bytes;
  child.held_bytes = 0;
}

void output_grouping::child_done(std::size_t index) {
  children_[index].end_pending = false;
  children_[index].done = true;
  if (index == active_) advance();
}

// The children before the next one are done and written: it is written up to now, and is
// live from now on, unless it is done as well.
void output_grouping::advance() {
  while (active_ < children_.size() && children_[active_].done) {
    ++active_;
    if (active_ < children_.size()) write(children_[active_]);
  }
}

void output_grouping::flush_all() {
  for (std::size_t i = active_; i < children_.size(); ++i) write(children_[i]);
  active_ = children_.size();
}

// Held past the limit: the child holding most is written now, out of its turn.
void output_grouping::relieve_memory() {
  const auto most = std::max_element(
      children_.begin(), children_.end(),
      [](const child_state& a, const child_state& b) { return a.held_bytes < b.held_bytes; });
  const std::size_t bytes = most->held_bytes;
  const std::string label =
      most->held.empty() ? std::string("a child")
      : most->held.front().event
          ? fmt::format("{}.{}", escaped_name(most->held.front().event->child->name),
                        most->held.front().event->child->instance)
          : fmt::format("{}.{}", escaped_name(most->held.front().messages.front().child->name),
                        most->held.front().messages.front().child->instance);
  log_.note(spdlog::level::warn,
            fmt::format("--group: {:.1f} MiB held for {} before its turn: written now, out of "
                        "order, rather than held without bound",
                        static_cast<double>(bytes) / (1 << 20), label));
  write(*most);
}

}  // namespace pipemux::cli
