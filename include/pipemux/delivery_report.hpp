// What each network output (syslog, the journal) did with the run's messages: how many it was
// given, settled (delivered as far as its transport tells), holds in its disk spool, sent
// again, dropped. Said at the end of a run, on SIGUSR2 and by `pipemux ctl outputs`.
#pragma once

#include <cstddef>
#include <string>

#include "pipemux/message_sender.hpp"

namespace pipemux {

struct delivery_report {
  /// "syslog relp://logs:2514", "the journal".
  std::string output;
  /// "relp", "tcp", "tls" (TCP with TLS), "udp", "unix" (a local socket: /dev/log, the
  /// journal's).
  std::string transport;
  delivery_counts counts;
  /// The spool file; empty: no spool. `from_earlier_run`: found in it when the run started.
  std::string spool;
  std::size_t from_earlier_run = 0;

  /// Whether anything is worth a word when all went well is not: messages dropped, possibly
  /// lost, or left in a spool.
  bool troubled() const noexcept {
    return counts.dropped > 0 || counts.possibly_lost > 0 || counts.spooled > 0;
  }
};

/// One line: "syslog relp://logs:2514: 1200 messages, 1200 acknowledged, 0 sent again, 0 dropped,
/// 1 session; spool /var/spool/pipemux/relp-logs-2514.spool: 0 messages".
std::string describe(const delivery_report& report);

/// One JSON object on one line: {"output":...,"transport":...,"messages":...,"settled":...,
/// "spooled":...,"resent":...,"dropped":...,"possibly_lost":...,"connections":...,
/// "spool":...,"from_earlier_run":...}.
std::string to_json(const delivery_report& report);

}  // namespace pipemux
