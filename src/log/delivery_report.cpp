#include "pipemux/delivery_report.hpp"

#include <fmt/format.h>

#include "pipemux/escape.hpp"

namespace pipemux {

namespace {

// What "settled" means on this transport.
const char* settled_as(const std::string& transport) {
  if (transport == "relp") return "acknowledged";
  if (transport == "tcp" || transport == "tls") return "acknowledged by the server's TCP";
  return "sent";
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : escaped(text)) {  // printable already: quotes and backslashes remain
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::string describe(const delivery_report& report) {
  const delivery_counts& c = report.counts;
  const bool relp = report.transport == "relp";
  std::string text = fmt::format("{}: {} messages, {} {}", report.output, c.accepted, c.settled,
                                 settled_as(report.transport));
  if (report.transport == "relp" || report.transport == "tcp" || report.transport == "tls")
    text += fmt::format(", {}{} sent again", relp && c.resent > 0 ? "up to " : "", c.resent);
  text += fmt::format(", {} dropped", c.dropped);
  if (c.possibly_lost > 0) text += fmt::format(", {} possibly lost", c.possibly_lost);
  text += fmt::format(", {} {}{}", c.connections, relp ? "session" : "connection",
                      c.connections == 1 ? "" : "s");
  if (!report.spool.empty()) {
    text += fmt::format("; spool {}: {} messages", escaped(report.spool), c.spooled);
    if (report.from_earlier_run > 0)
      text += fmt::format(" ({} came from an earlier run)", report.from_earlier_run);
  }
  return text;
}

std::string to_json(const delivery_report& report) {
  const delivery_counts& c = report.counts;
  return fmt::format(
      "{{\"output\":{},\"transport\":\"{}\",\"messages\":{},\"settled\":{},\"spooled\":{},"
      "\"resent\":{},\"dropped\":{},\"possibly_lost\":{},\"connections\":{},\"spool\":{},"
      "\"from_earlier_run\":{}}}",
      json_string(report.output), report.transport, c.accepted, c.settled, c.spooled, c.resent,
      c.dropped, c.possibly_lost, c.connections,
      report.spool.empty() ? "null" : json_string(report.spool), report.from_earlier_run);
}

}  // namespace pipemux
