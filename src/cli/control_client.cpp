#include "control_client.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ostream>
#include <vector>

#include "control_directory.hpp"

namespace pipemux::cli {
namespace {

constexpr int answer_time_s = 10;

struct live_run {
  long pid;
  std::string socket;
};

// The runs whose socket is in `dir` ("<pid>.sock") and that answer on it, by pid.
std::vector<live_run> live_runs(const std::string& dir) {
  std::vector<live_run> runs;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return runs;
  while (const dirent* entry = ::readdir(d)) {
    const std::string_view name(entry->d_name);
    if (!name.ends_with(".sock")) continue;
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    // "<pid>.sock", or "<pid>-<n>.sock" when a run in another PID namespace had that name;
    // alive when it answers (a pid may be another process's by now)
    if (pid <= 0 || (std::string_view(end) != ".sock" && *end != '-')) continue;
    std::string socket = dir + "/" + std::string(name);
    if (control_socket_answers(socket)) runs.push_back({pid, std::move(socket)});
  }
  ::closedir(d);
  std::sort(runs.begin(), runs.end(),
            [](const live_run& a, const live_run& b) { return a.pid < b.pid; });
  return runs;
}

int fail(std::ostream& err, const std::string& why, int code) {
  err << "pipemux ctl: " << why << '\n';
  return code;
}

}  // namespace

std::string find_control_socket(const ctl_request& ctl, std::string& error) {
  if (!ctl.socket.empty()) return ctl.socket;
  const std::string dir = default_control_directory();
  if (dir.empty()) {
    error = "XDG_RUNTIME_DIR is not set, so there is no default control socket: give --socket PATH";
    return {};
  }
  if (ctl.pid) return fmt::format("{}/{}.sock", dir, *ctl.pid);
  const std::vector<live_run> runs = live_runs(dir);
  if (runs.size() == 1) return runs.front().socket;
  if (runs.empty()) {
    error = "no running pipemux has a control socket in " + dir + " (give --socket PATH)";
    return {};
  }
  std::vector<long> pids;
  pids.reserve(runs.size());
  for (const auto& run : runs) pids.push_back(run.pid);
  error = fmt::format("{} pipemux runs have a control socket in {} (pids {}): give --pid PID",
                      runs.size(), dir, fmt::join(pids, ", "));
  return {};
}

int run_ctl(const ctl_request& ctl, std::ostream& out, std::ostream& err) {
  std::string error;
  const std::string path = find_control_socket(ctl, error);
  if (path.empty()) return fail(err, error, ctl_exit_code::unreachable);
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path)
    return fail(err, path + ": too long for a socket's path", ctl_exit_code::usage);
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(err, std::strerror(errno), ctl_exit_code::unreachable);
  const timeval limit{answer_time_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int why = errno;
    ::close(fd);
    return fail(err, fmt::format("cannot connect to {}: {}", path, std::strerror(why)),
                ctl_exit_code::unreachable);
  }
  const std::string line = ctl.request.line() + '\n';
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (answer.starts_with("ok\n")) {
    out << answer.substr(3);
    if (!answer.ends_with('\n') && answer.size() > 3) out << '\n';
    return ctl_exit_code::ok;
  }
  if (answer.starts_with("error: ")) {
    std::string why = answer.substr(7);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return fail(err, why, ctl_exit_code::refused);
  }
  return fail(err, "no answer from " + path + " (the run may be over)", ctl_exit_code::unreachable);
}

}  // namespace pipemux::cli
