// Where runs' control sockets are, and whether one is alive: for the run that makes its socket
// (control_server) and for `pipemux ctl`, which looks for it (and needs no Asio for that).
#pragma once

#include <string>

namespace pipemux::cli {

/// Where a run's socket goes by default: $XDG_RUNTIME_DIR/pipemux, or /run/pipemux for root;
/// empty when neither applies (a user without XDG_RUNTIME_DIR).
std::string default_control_directory();

/// Whether a run listens on the socket at `path` (connect is not refused).
bool control_socket_answers(const std::string& path);

}  // namespace pipemux::cli
