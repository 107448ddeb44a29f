#include "status_table.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipemux/exit_status.hpp"
#include "pipemux/name_escape.hpp"

namespace pipemux::cli {
namespace {

std::string label_of(const child_status& c) {
  return escaped_name(c.child.name) + "." + std::to_string(c.child.instance);
}

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// "12.3 s", "4 min 05 s", "2 h 03 min": short enough for a column, exact enough to compare.
std::string duration_text(std::chrono::nanoseconds d) {
  const double s = seconds(d);
  if (s < 60) return fmt::format("{:.1f} s", s);
  const auto whole = static_cast<long long>(s);
  if (whole < 3600) return fmt::format("{} min {:02} s", whole / 60, whole % 60);
  return fmt::format("{} h {:02} min", whole / 3600, whole % 3600 / 60);
}

std::string state_text(const child_status& c) {
  std::string text(name_of(c.state, child_state_names));
  switch (c.state) {
    case child_state::exited:  // "exited with code 0", "killed by SIGTERM"
      if (c.status) text = describe(*c.status);
      break;
    case child_state::restarting:
      text += fmt::format(" in {:.1f} s", seconds(c.restart_in));
      if (c.status) text += " (" + describe(*c.status) + ")";
      break;
    default:
      break;
  }
  if (!c.detail.empty()) text += ": " + c.detail;
  return text;
}

// A JSON string of text that escape_into made printable already (a label, a detail).
std::string json_string(const std::string& printable) {
  std::string out = "\"";
  for (const char c : printable) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    else
      out += c;
  }
  return out + '"';
}

}  // namespace

std::vector<std::string> status_table(const std::vector<child_status>& children) {
  std::size_t width = 5;  // "child"
  for (const auto& c : children) width = std::max(width, label_of(c).size());
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{:<{}}  {:>7}  {:>10}  {:>8}  {:>10}  {:>12}  {}", "child", width,
                              "pid", "uptime", "restarts", "lines", "bytes", "state"));
  for (const auto& c : children) {
    const bool has_uptime = c.uptime.count() > 0;
    lines.push_back(fmt::format("{:<{}}  {:>7}  {:>10}  {:>8}  {:>10}  {:>12}  {}", label_of(c),
                                width, c.child.pid > 0 ? std::to_string(c.child.pid) : "-",
                                has_uptime ? duration_text(c.uptime) : "-", c.restarts, c.messages,
                                c.bytes, escaped_name(state_text(c))));
  }
  return lines;
}

std::vector<std::string> status_json(const std::vector<child_status>& children) {
  std::vector<std::string> lines;
  for (const auto& c : children) {
    std::string line =
        fmt::format("{{\"child\":{},\"program\":{},\"instance\":{},\"pid\":{},\"state\":\"{}\"",
                    json_string(label_of(c)), json_string(escaped_name(c.child.name)),
                    c.child.instance, c.child.pid > 0 ? std::to_string(c.child.pid) : "null",
                    name_of(c.state, child_state_names));
    if (c.status) {
      if (c.status->signaled)
        line += fmt::format(",\"signal\":\"{}\"", signal_name(c.status->signal));
      else
        line += fmt::format(",\"code\":{}", c.status->code);
    }
    line += fmt::format(
        ",\"uptime_s\":{:.3f},\"restart_in_s\":{:.3f},\"restarts\":{},\"lines\":{},\"bytes\":{},"
        "\"detail\":{}}}",
        seconds(c.uptime), seconds(c.restart_in), c.restarts, c.messages, c.bytes,
        json_string(escaped_name(c.detail)));
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace pipemux::cli
