// Internal: one librelp engine and client, for the thread of a relp_sender (relp_sender.hpp),
// which alone calls it. Every call may block (librelp waits in whole seconds, up to the
// sender's `timeout`); each that fails says why in last_error(), in words a person can act on.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "pipemux/log_options.hpp"
#include "pipemux/relp_sender.hpp"

struct relpEngine_s;
struct relpClt_s;

namespace pipemux::detail {

class relp_session {
 public:
  /// `stop_now`: librelp's "shut down immediately", looked at between two of its polls.
  relp_session(syslog_address address, syslog_tls_files tls, relp_sender::limits bounds,
               std::atomic<int>& stop_now);
  ~relp_session();  // no close: what is not confirmed is not
  relp_session(const relp_session&) = delete;
  relp_session& operator=(const relp_session&) = delete;

  /// librelp made its engine.
  bool made() const noexcept { return engine_ != nullptr; }
  /// Makes a session: the first of a client with relpCltConnect (which makes a new one each
  /// time it fails), the next with relpCltReconnect, which first sends again librelp's window
  /// of messages not acknowledged.
  bool connect();
  /// A session works (connect() made it and no send failed since).
  bool up() const noexcept { return up_; }
  /// Sends the batch until a message does not go (the session is then down); returns how many
  /// went. The last `window` sent are kept: recent().
  std::size_t send(std::vector<std::string>& batch);
  /// Closes the session and its client: true when the server confirmed every message (it
  /// answers "close" after acknowledging all before it).
  bool close();
  /// The last `window` messages sent: librelp's unacknowledged ones are among them, and go with
  /// its client when it is closed without confirmation.
  std::deque<std::string>& recent() noexcept { return recent_; }
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  static void on_error(void* user, char* object, char* message, int code);
  static void on_tls_error(void* user, char* who, char* message, int code);
  void take_first_error();
  bool make_client();

  syslog_address address_;
  syslog_tls_files tls_;
  relp_sender::limits bounds_;
  std::atomic<int>& stop_now_;
  relpEngine_s* engine_ = nullptr;
  relpClt_s* client_ = nullptr;
  bool client_connected_ = false;  // the client had a session: relpCltReconnect from now on
  bool up_ = false;
  unsigned errors_ = 0;
  std::string first_error_, last_error_ = "no answer";
  std::deque<std::string> recent_;
  std::string name_auth_ = "name";  // librelp takes a char*
};

}  // namespace pipemux::detail
