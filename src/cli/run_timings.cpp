#include "run_timings.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

#include "pipemux/exit_status.hpp"
#include "pipemux/name_escape.hpp"

namespace pipemux::cli {
namespace {

// Local time of day to the millisecond: the log's own lines carry the date.
std::string time_of_day(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  return fmt::format("{:%H:%M:%S}.{:03}", fmt::localtime(std::chrono::system_clock::to_time_t(t)),
                     ms.count() % 1000);
}

}  // namespace

void run_timings::record(const child_event& event) {
  if (!event.child) return;
  const std::size_t index = event.child->index;
  if (children_.size() <= index) children_.resize(index + 1);
  child_times& times = children_[index];
  if (event.kind == child_event_kind::started && !times.has_started) {
    times.started = clock::now();
    times.has_started = true;
  } else if (event.kind == child_event_kind::exited) {
    times.ended = clock::now();
    times.has_ended = true;
    std::erase(end_order_, index);  // its last run is the one that counts
    end_order_.push_back(index);
  }
}

std::vector<std::string> run_timings::table(const run_summary& summary) const {
  std::vector<std::string> labels;
  std::size_t width = 5;  // "child"
  for (const auto& c : summary.children) {
    labels.push_back(escaped_name(c.child.name) + "." + std::to_string(c.child.instance));
    width = std::max(width, labels.back().size());
  }
  std::vector<std::string> lines;
  lines.push_back(fmt::format("timings: {:<{}}  {:<12}  {:<12}  {:>10}  {}", "child", width,
                              "started", "ended", "ran", "how it ended"));
  for (std::size_t i = 0; i < summary.children.size(); ++i) {
    const child_summary& c = summary.children[i];
    const child_times times = i < children_.size() ? children_[i] : child_times{};
    std::string ended_how = c.status ? describe(*c.status) : "not started: " + c.spawn_error;
    if (c.stopped) ended_how += " (stopped)";
    if (c.restarts > 0) ended_how += fmt::format(", {} restarts", c.restarts);
    const bool ran = times.has_started && times.has_ended;
    lines.push_back(fmt::format(
        "timings: {:<{}}  {:<12}  {:<12}  {:>10}  {}", labels[i], width,
        times.has_started ? time_of_day(times.started) : "-",
        times.has_ended ? time_of_day(times.ended) : "-",
        ran ? fmt::format("{:.3f} s",
                          std::chrono::duration<double>(times.ended - times.started).count())
            : "-",
        ended_how));
  }
  return lines;
}

}  // namespace pipemux::cli
