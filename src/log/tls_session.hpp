// Internal: TLS for a socket_sender's TCP connection (tls://, RFC 5425), with Asio's ssl::stream
// (OpenSSL). The server's certificate must chain to the CA file given (else the system's CAs)
// and name the address's host; pipemux's own certificate and key are sent if given.
//
// One TLS session per TCP connection: start() makes it on a connected socket. Handlers hold
// the stream by its shared_ptr, so a session that ended is destroyed only once its last
// operation has come back.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "pipemux/log_options.hpp"

namespace pipemux::detail {

class tls_session {
 public:
  using stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

  /// Loads the files (throws std::runtime_error naming the one that is not PEM, or not a key
  /// for the certificate); `host` is the name the server's certificate must have.
  tls_session(const syslog_tls_files& files, std::string host);

  /// A new session on `tcp`, connected: hand it to async_handshake.
  std::shared_ptr<stream> start(boost::asio::ip::tcp::socket& tcp);
  /// The bytes TLS has written to the socket in the current session (records: the handshake
  /// and the messages, encrypted): what the kernel's count of unacknowledged bytes is about.
  std::uint64_t bytes_out() const;

  /// Why the handshake of the current session failed: "TLS: the server's certificate:
  /// hostname mismatch", "... unable to get local issuer certificate", or OpenSSL's reason.
  std::string why(const boost::system::error_code& ec) const;
  /// "TLS: " and OpenSSL's reason for `ec`.
  static std::string describe(const boost::system::error_code& ec);

 private:
  boost::asio::ssl::context context_;
  std::string host_;
  std::shared_ptr<stream> current_;
};

}  // namespace pipemux::detail
