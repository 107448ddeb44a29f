// The run's control socket (--control): a unix stream socket on the run's loop that answers
// `pipemux ctl` (control_request.hpp). Only the run's own user and root may use it: the socket
// is mode 0600, its default directory mode 0700 and ours, and each connection's peer
// credentials (SO_PEERCRED) are checked; anyone else is refused, and that is logged. A
// request that is malformed, too long or too slow gets one error line and is closed; nothing
// a client does stops the run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "control_request.hpp"

namespace pipemux::cli {

class control_server {
 public:
  /// Answers a request: `reply` takes what to send ("ok\n..." or "error: ...\n"), once.
  using handler =
      std::function<void(const control_request& request, const std::string& requested_by,
                         std::function<void(std::string)> reply)>;
  /// Says something for the log (a refused connection), as a warning.
  using note = std::function<void(const std::string&)>;

  /// Binds the socket at `path` (a stale socket left by a killed run is replaced; one that
  /// answers is not). With `private_directory`, the directory holding it is created mode 0700
  /// if need be, and must be ours and closed to others. nullopt and `error` (one line) if not.
  static std::optional<control_server> open(boost::asio::io_context& io, const std::string& path,
                                            bool private_directory, std::string& error);

  control_server(control_server&&) noexcept;
  control_server& operator=(control_server&&) = delete;
  ~control_server();

  /// Starts answering connections.
  void serve(handler on_request, note on_refusal);
  /// No more connections; those open are closed; the socket file is removed.
  void close();
  const std::string& path() const;

  static constexpr std::size_t max_connections = 8;

 private:
  struct state;
  explicit control_server(std::shared_ptr<state> s);
  std::shared_ptr<state> state_;
};

}  // namespace pipemux::cli
