// What `pipemux ctl status` prints: one line per child, as a table or as JSON objects.
#pragma once

#include <string>
#include <vector>

#include "pipemux/control.hpp"

namespace pipemux::cli {

/// A header line, then one line per child: label, pid, state, uptime, restarts, lines, bytes.
std::vector<std::string> status_table(const std::vector<child_status>& children);

/// One JSON object per child, per line (jq -s makes an array of them): "child" (the label as
/// the log shows it), "program", "instance", "pid" (null without a process), "state" (a name
/// of child_state_names), "code" or "signal" once it has ended, "uptime_s", "restart_in_s",
/// "restarts", "lines", "bytes", "detail".
std::vector<std::string> status_json(const std::vector<child_status>& children);

}  // namespace pipemux::cli
