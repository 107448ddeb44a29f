#include "readiness/probe_target.hpp"

#include "readiness/line_pattern.hpp"

namespace pipemux::detail {

bool split_host_port(const std::string& text, std::string& host, std::string& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return false;  // an IPv6 address goes in brackets
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const int number = std::stoi(port);
  return number > 0 && number < 65536;
}

bool split_http_url(const std::string& url, std::string& host, std::string& port, std::string& path,
                    std::string& why) {
  constexpr std::string_view scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    why = url.rfind("https://", 0) == 0 ? "https is not probed (use an exec probe: curl -fsS URL)"
                                        : "must start with http://";
    return false;
  }
  const auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (path.find_first_of(" \r\n") != std::string::npos) {
    why = "the path must not hold spaces or line breaks";
    return false;
  }
  if (authority.empty() || authority.find('@') != std::string::npos) {
    why = "needs a host (and no user)";
    return false;
  }
  const bool has_port = authority.back() != ']' && authority.find(':') != std::string::npos;
  if (!split_host_port(has_port ? authority : authority + ":80", host, port)) {
    why = "HOST[:PORT] is not valid (a port is 1 to 65535; IPv6 goes in brackets)";
    return false;
  }
  return true;
}

std::string target_problem(probe_kind kind, const std::string& target) {
  std::string host, port, path, why;
  switch (kind) {
    case probe_kind::log:
      if (target.empty()) return "must not be empty";
      return line_pattern::problem(target);
    case probe_kind::exec:
      if (target.empty()) return "must not be empty";
      if (target.find('\0') != std::string::npos) return "must not hold a NUL byte";
      return {};
    case probe_kind::tcp:
      if (!split_host_port(target, host, port))
        return "must be HOST:PORT (\"localhost:8080\", \"[::1]:8080\"; a port is 1 to 65535)";
      return {};
    case probe_kind::http:
      if (!split_http_url(target, host, port, path, why)) return why;
      return {};
  }
  return {};
}

}  // namespace pipemux::detail
