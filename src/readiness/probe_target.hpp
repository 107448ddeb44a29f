// What a probe's target must look like (pipemux/readiness.hpp), checked without I/O: by the
// config loader and the library up front, and split here for the attempts.
#pragma once

#include <string>

#include "pipemux/readiness.hpp"

namespace pipemux::detail {

/// "HOST:PORT" (IPv6 in brackets) split in two; false when it is not one.
bool split_host_port(const std::string& text, std::string& host, std::string& port);
/// "http://HOST[:PORT][/PATH]": false, with `why`, when it is not one.
bool split_http_url(const std::string& url, std::string& host, std::string& port, std::string& path,
                    std::string& why);
/// What a target of `kind` must look like, or empty when `target` is one.
std::string target_problem(probe_kind kind, const std::string& target);

}  // namespace pipemux::detail
