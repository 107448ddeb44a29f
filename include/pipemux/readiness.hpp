// When a program counts as ready, and what another program waits for before it starts
// (process-compose's depends_on and readiness probes, on the supervisor's event loop).
#pragma once

#include <chrono>
#include <string>

#include "pipemux/named.hpp"

namespace pipemux {

/// How a probe asks a child whether it is ready (or still alive).
enum class probe_kind : unsigned char {
  log,   ///< a line of its output (stdout or stderr, as written) matches `target`, a regular
         ///< expression (Boost.Regex, Perl syntax) searched anywhere in the line; a search that
         ///< backtracks past Boost's bound counts as no match for that line
  tcp,   ///< a connection to `target`, "HOST:PORT" ("[::1]:8080" for IPv6), is accepted
  exec,  ///< `target`, run by /bin/sh -c in the program's environment and directory, exits 0
  http,  ///< a GET of `target`, "http://HOST[:PORT][/PATH]", is answered 2xx
};

struct probe {
  probe_kind kind = probe_kind::log;
  std::string target{};
  /// Between the start of one attempt and the next (tcp, exec, http).
  std::chrono::milliseconds interval{500};
  /// Readiness: how long after its start a child may take to get ready before it counts as
  /// failed (its dependents then fail). Liveness: how long one attempt may take.
  std::chrono::milliseconds timeout{60000};
  /// Before the first attempt (a log probe reads from the start regardless).
  std::chrono::milliseconds initial_delay{0};
};

/// What a program waits for of another before its children start. Each condition is about
/// every child of that program.
enum class dependency_condition : unsigned char {
  started,    ///< running (started; no readiness asked)
  ready,      ///< its ready probe succeeded; without one, the same as started
  completed,  ///< exited with success (0 or one of its success_codes), for good
  exited,     ///< exited, whatever the code, for good (after its restarts)
};

struct dependency {
  std::string program{};  ///< another program's name in the same run
  dependency_condition condition = dependency_condition::ready;
};

/// What a waiting program does when a dependency fails: it exits (with a failure, for
/// `completed`) or could not start before meeting the condition, or its readiness timed out.
enum class dependency_failure : unsigned char {
  stop_run,      ///< the run stops (the program's children never start, and count as failed)
  start_anyway,  ///< its children start as if the dependency had been met
  skip,          ///< its children never start (and count as failed); the run goes on
};

/// The names the config file, the reports and `pipemux check` use.
inline constexpr named<probe_kind> probe_kind_names[] = {{"log", probe_kind::log},
                                                         {"tcp", probe_kind::tcp},
                                                         {"exec", probe_kind::exec},
                                                         {"http", probe_kind::http}};
inline constexpr named<dependency_condition> dependency_condition_names[] = {
    {"started", dependency_condition::started},
    {"ready", dependency_condition::ready},
    {"completed", dependency_condition::completed},
    {"exited", dependency_condition::exited}};
inline constexpr named<dependency_failure> dependency_failure_names[] = {
    {"stop", dependency_failure::stop_run},
    {"start", dependency_failure::start_anyway},
    {"skip", dependency_failure::skip}};

}  // namespace pipemux
