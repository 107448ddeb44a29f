#include "log/tls_session.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <stdexcept>

namespace pipemux::detail {

namespace asio = boost::asio;

namespace {

// OpenSSL's reason for `ec`, else what the error code says.
std::string reason(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* said = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (said != nullptr) return said;
  }
  if (ec == asio::ssl::error::stream_truncated) return "the server ended the session";
  return ec.message();
}

// Loads one file into the context; a file that is not what it must be is named.
template <typename Load>
void load(const std::string& file, const char* what, Load&& loader) {
  boost::system::error_code ec;
  loader(ec);
  if (ec) throw std::runtime_error("cannot use \"" + file + "\" as " + what + ": " + reason(ec));
}

}  // namespace

tls_session::tls_session(const syslog_tls_files& files, std::string host)
    : context_(asio::ssl::context::tls_client), host_(std::move(host)) {
  // TLS 1.2 at least, as RFC 9662 asks of syslog over TLS.
  context_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
  if (files.ca.empty())
    load("the system's CAs", "CAs", [&](auto& ec) { context_.set_default_verify_paths(ec); });
  else
    load(files.ca, "the CA (PEM)", [&](auto& ec) { context_.load_verify_file(files.ca, ec); });
  if (!files.cert.empty()) {
    load(files.cert, "a certificate (PEM)",
         [&](auto& ec) { context_.use_certificate_chain_file(files.cert, ec); });
    load(files.key, "the certificate's private key (PEM)",
         [&](auto& ec) { context_.use_private_key_file(files.key, asio::ssl::context::pem, ec); });
  }
  context_.set_verify_mode(asio::ssl::verify_peer);
}

std::shared_ptr<tls_session::stream> tls_session::start(asio::ip::tcp::socket& tcp) {
  current_ = std::make_shared<stream>(tcp, context_);
  SSL* ssl = current_->native_handle();
  // The name checked by OpenSSL itself (its verify result then says "hostname mismatch"); SNI
  // for a server with certificates for several names (not for an address).
  boost::system::error_code ignored;
  [[maybe_unused]] const auto address = asio::ip::make_address(host_, ignored);
  if (!ignored) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host_.c_str());
    SSL_set1_host(ssl, host_.c_str());
  }
  return current_;
}

std::uint64_t tls_session::bytes_out() const {
  if (!current_) return 0;
  // Asio's engine has OpenSSL write its records into a BIO pair, and writes them to the
  // socket before an operation completes: what went into the BIO went to the socket.
  return BIO_number_written(SSL_get_wbio(current_->native_handle()));
}

std::string tls_session::why(const boost::system::error_code& ec) const {
  if (current_) {
    const long verified = SSL_get_verify_result(current_->native_handle());
    if (verified != X509_V_OK)
      return "TLS: the server's certificate: " +
             std::string(X509_verify_cert_error_string(verified));
  }
  return describe(ec);
}

std::string tls_session::describe(const boost::system::error_code& ec) {
  return "TLS: " + reason(ec);
}

}  // namespace pipemux::detail
