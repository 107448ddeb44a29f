// Where syslog goes, from "local", a socket's path, udp://, tcp://, tls:// or relp://HOST[:PORT],
// and how long a message may be on the way there. Checked as far as can be without the network: an
// address that could never be reached (tcp://user@host, tcp://256.1.1.1, a host with a newline) is
// refused when the command line or the config is read, saying what is wrong, rather than costing
// the sender's close_timeout at the end of every run.
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "pipemux/config.hpp"
#include "pipemux/escape.hpp"

namespace pipemux {
namespace {

constexpr std::size_t max_host_name = 253;  // RFC 1035: 255 octets on the wire, 253 as text
constexpr std::size_t max_label = 63;
constexpr const char* host_name_chars = "(a host name has only letters, digits, '-', '_' and '.')";

std::string in_quotes(std::string_view text) {
  return "\"" + escaped(text) + "\"";
}

bool host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// A DNS name (letters, digits, '-' and '_' in labels of 1 to 63, a trailing '.' allowed) or a
// dotted IPv4 address. Empty when it is one, else what is wrong.
std::string host_problem(std::string_view host) {
  if (host.empty()) return "no host";
  for (char c : host)
    if (!host_name_char(c))
      return "'" + escaped(std::string_view(&c, 1)) + "' in the host " + in_quotes(host) + " " +
             host_name_chars;
  if (host.size() > max_host_name)
    return "the host is longer than " + std::to_string(max_host_name) + " bytes";
  // All digits and dots: an IPv4 address, which inet_pton takes only as four decimal numbers.
  if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
    in_addr ignored{};
    if (::inet_pton(AF_INET, std::string(host).c_str(), &ignored) != 1)
      return in_quotes(host) + " is no IPv4 address (four numbers from 0 to 255)";
    return {};
  }
  std::string_view labels = host.ends_with('.') ? host.substr(0, host.size() - 1) : host;
  while (true) {
    const auto dot = labels.find('.');
    const std::string_view label = labels.substr(0, dot);
    if (label.empty()) return in_quotes(host) + " has an empty label (\"..\", or a '.' first)";
    if (label.size() > max_label)
      return in_quotes(host) + " has a label longer than " + std::to_string(max_label) + " bytes";
    if (label.front() == '-' || label.back() == '-')
      return in_quotes(host) + ": a label cannot start or end with '-'";
    if (dot == std::string_view::npos) return {};
    labels.remove_prefix(dot + 1);
  }
}

// "::1" or "fe80::1%eth0" (a zone: an interface's name or number).
std::string ipv6_problem(std::string_view host) {
  const auto percent = host.find('%');
  const std::string address(host.substr(0, percent));
  in6_addr ignored{};
  if (::inet_pton(AF_INET6, address.c_str(), &ignored) != 1)
    return in_quotes(address) + " in brackets is no IPv6 address";
  if (percent != std::string_view::npos) {
    const std::string_view zone = host.substr(percent + 1);
    if (zone.empty() || !std::all_of(zone.begin(), zone.end(), host_name_char))
      return "the zone of " + in_quotes(host) + " is no interface's name";
  }
  return {};
}

// A socket's path: absolute, and short enough for sockaddr_un (with its terminating NUL).
std::string path_problem(std::string_view path) {
  if (path.empty()) return "no socket path after \"unix:\"";
  if (!path.starts_with('/'))
    return "a socket's path must be absolute (got " + in_quotes(path) + ")";
  if (path.find('\0') != std::string_view::npos) return "a NUL byte in the socket's path";
  constexpr std::size_t max_path = sizeof(sockaddr_un::sun_path) - 1;
  if (path.size() > max_path)
    return "a socket's path has at most " + std::to_string(max_path) + " bytes (got " +
           std::to_string(path.size()) + ")";
  return {};
}

std::string port_problem(std::string_view port, std::uint16_t& value) {
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number == 0 ||
      number > 65535)
    return "the port must be a number from 1 to 65535 (got " + in_quotes(port) + ")";
  value = static_cast<std::uint16_t>(number);
  return {};
}

// The address, or what is wrong with it in `why`.
std::optional<syslog_address> parse(std::string_view text, std::string& why) {
  syslog_address address;
  if (text.empty()) {
    why = "empty (\"local\" is /dev/log)";
    return std::nullopt;
  }
  if (text == "local") {
    address.host = "/dev/log";
    return address;
  }
  const bool unix_prefix = text.starts_with("unix:");
  if (unix_prefix) text.remove_prefix(5);
  if (unix_prefix || text.starts_with('/')) {
    why = path_problem(text);
    if (!why.empty()) return std::nullopt;
    address.host = std::string(text);
    return address;
  }
  address.port = default_syslog_port;
  if (text.starts_with("udp://")) {
    address.via = syslog_address::transport::udp;
  } else if (text.starts_with("tcp://")) {
    address.via = syslog_address::transport::tcp;
  } else if (text.starts_with("tls://")) {
    address.via = syslog_address::transport::tcp;
    address.tls = true;
    address.port = default_syslog_tls_port;
  } else if (text.starts_with("relp://")) {
    address.via = syslog_address::transport::relp;
    address.port = default_relp_port;
  } else {
    why = "expected \"local\", a socket's path, udp://, tcp://, tls:// or relp://HOST[:PORT]";
    return std::nullopt;
  }
  text.remove_prefix(text.find("://") + 3);
  // host, host:port, [v6], [v6]:port
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      why = "'[' without ']'";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      why = "expected :PORT after ']' (got " + in_quotes(rest) + ")";
      return std::nullopt;
    }
    if (!rest.empty()) port = rest.substr(1);
    why = host.empty() ? "no host" : ipv6_problem(host);
  } else {
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (host.find(':') != std::string_view::npos)
      why = "an IPv6 address goes in brackets: [::1]:514";
    else
      why = host_problem(host);
  }
  if (!why.empty()) return std::nullopt;
  address.host = std::string(host);
  if (port) why = port_problem(*port, address.port);
  if (!why.empty()) return std::nullopt;
  return address;
}

}  // namespace

std::optional<syslog_address> parse_syslog_address(std::string_view text) {
  std::string ignored;
  return parse(text, ignored);
}

std::string syslog_address_problem(std::string_view text) {
  std::string why;
  parse(text, why);
  return why;
}

std::string syslog_tls_problem(const syslog_address& address, const syslog_tls_files& tls) {
  if (!tls.on()) return {};
  const bool relp = address.via == syslog_address::transport::relp;
  if (!relp && !address.tls)
    return "TLS is for a tls:// or relp:// address (tcp:// is plain TCP: tls://HOST[:PORT] is "
           "TCP with TLS)";
  // librelp has no way to the system's CAs: RELP's TLS needs its own.
  if (relp && tls.ca.empty())
    return "TLS needs the CA that signed the server's certificate (tls_ca)";
  if (tls.cert.empty() != tls.key.empty())
    return "a client certificate goes with its key: both or neither (tls_cert, tls_key)";
  // Looked at, not opened: opening a FIFO would wait for a writer.
  for (const std::string* file : {&tls.ca, &tls.cert, &tls.key}) {
    if (file->empty()) continue;
    struct stat status {};
    if (::stat(file->c_str(), &status) != 0 || ::access(file->c_str(), R_OK) != 0)
      return "cannot read " + in_quotes(*file) + ": " + std::strerror(errno);
    if (!S_ISREG(status.st_mode)) return in_quotes(*file) + " is not a file";
  }
  return {};
}

std::string syslog_max_message_problem(const syslog_address& address, std::uint64_t bytes) {
  const bool stream = address.via == syslog_address::transport::tcp ||
                      address.via == syslog_address::transport::relp;
  const std::size_t most = stream ? max_syslog_stream_message : max_syslog_datagram;
  if (bytes >= min_syslog_max_message && bytes <= most) return {};
  return "between " + std::to_string(min_syslog_max_message) + " and " + std::to_string(most) +
         " bytes " +
         (!stream ? "in one datagram (tcp:// takes up to 16 MiB)"
          : address.via == syslog_address::transport::relp ? "over RELP"
                                                           : "over TCP") +
         " (got " + std::to_string(bytes) + ")";
}

}  // namespace pipemux
