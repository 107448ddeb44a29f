// The control socket's protocol (`pipemux ctl` and the run's control_server): one request
// line from the client, one answer from the run, then the connection closes.
//
//   request:  VERB [ARGUMENT] '\n'     at most max_request bytes, '\n' included
//             status [json] | restart TARGET | stop TARGET | start TARGET | scale NAME=N
//             | reopen | stop-all
//             TARGET is NAME or NAME.N; NAME is escaped as the log escapes it (escape.hpp),
//             so that any program name fits in one line, spaces and all
//   answer:   "ok\n" then what was done or the status, one line each; or "error: WHY\n"
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipemux/control.hpp"

namespace pipemux::cli {

struct control_request {
  enum class verb { status, restart, stop, start, scale, reopen, stop_all, outputs };
  verb what = verb::status;
  bool json = false;      ///< status json, outputs json
  std::string target;     ///< restart, stop, start: NAME or NAME.N, unescaped; scale: NAME
  std::size_t count = 0;  ///< scale

  static constexpr std::size_t max_request = 4096;

  /// The request in `line` (without its '\n'), or nullopt and `error` saying what is wrong.
  static std::optional<control_request> parse(std::string_view line, std::string& error);
  /// The line that parse() reads back as this request (without its '\n').
  std::string line() const;
};

/// Which children `target` (NAME or NAME.N) means among `programs`: a program of that very
/// name first (a name may end in ".1"), else NAME's child N.
child_selector resolve_target(const std::string& target, const std::vector<std::string>& programs);

}  // namespace pipemux::cli
