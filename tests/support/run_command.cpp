#include "run_command.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace pipemux::test {

namespace {

// This test process's own directory, removed with all it holds when the process exits.
struct temp_directory {
  temp_directory() : path(::testing::TempDir() + "pipemux." + std::to_string(::getpid())) {
    std::filesystem::create_directories(path);
  }
  ~temp_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string path;
};

}  // namespace

std::string temp_path(const std::string& name) {
  static const temp_directory directory;
  return directory.path + "/" + name;
}

std::string unique(const std::string& name) {
  return name + "-" + std::to_string(::getpid());
}

std::string long_sleep() {
  return "sleep 3" + std::to_string(::getpid());
}

std::string pipemux_exe() {
  // Another build's binary (an older commit's, to see a new test fail there first).
  if (const char* other = std::getenv("PIPEMUX_TEST_EXE"); other != nullptr && *other != '\0')
    return other;
  return PIPEMUX_EXE;
}

command_result run_command(const std::vector<std::string>& argv, const command_options& options) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    // As a shell starts a command: SIGPIPE at its default (a test that runs the suite from a
    // parent ignoring it must still see a process die of it) and no signal blocked.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.stdout_fd >= 0) {
      ::dup2(options.stdout_fd, 1);
    } else if (!options.stdout_path.empty()) {
      const int fd = ::open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
    } else {
      ::dup2(out[1], 1);
    }
    ::dup2(err[1], 2);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (options.stdout_fd >= 0) {  // nothing comes through our pipe
    ::close(out[0]);
    out[0] = -1;
  }

  command_result result;
  result.pid = pid;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool watching = static_cast<bool>(options.watch);
  if (watching && options.watch(pid, result.out)) watching = false;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  char buf[65536];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const bool slow = i == 0 && options.slow_read_bytes > 0;
      const ssize_t n =
          ::read(fds[i].fd, buf, slow ? std::min(options.slow_read_bytes, sizeof buf) : sizeof buf);
      if (slow && n > 0) std::this_thread::sleep_for(options.slow_read_pause);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      } else {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      }
    }
    if (watching && options.watch(pid, result.out)) watching = false;
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

command_options signal_when(int sig, std::function<bool(const std::string&)> enough,
                            std::chrono::milliseconds timeout) {
  return {.timeout = timeout,
          .watch = [sig, enough = std::move(enough)](int pid, const std::string& out) {
            if (!enough(out)) return false;
            ::kill(pid, sig);
            return true;
          }};
}

namespace {

// A /proc file, read with read(2): a process may vanish mid-read (ESRCH), and an
// istreambuf_iterator over an ifstream throws then.
std::string read_proc_file(const std::string& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

}  // namespace

std::vector<int> children_of(int parent) {
  std::vector<int> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = ::readdir(proc)) {
    const int pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    const std::string line = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
    const auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos || close_paren + 2 >= line.size()) continue;
    std::istringstream rest(line.substr(close_paren + 2));
    char state;
    int ppid;
    rest >> state >> ppid;
    if (ppid == parent) found.push_back(pid);
  }
  ::closedir(proc);
  return found;
}

namespace {

bool alive(int pid) {
  const std::string line = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() &&
         line[close_paren + 2] != 'Z';
}

}  // namespace

std::vector<int> processes_with(const std::string& marker) {
  std::vector<int> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = ::readdir(proc)) {
    const int pid = std::atoi(entry->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string text = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(text.begin(), text.end(), '\0', ' ');
    if (text.find(marker) != std::string::npos && alive(pid)) found.push_back(pid);
  }
  ::closedir(proc);
  return found;
}

std::vector<int> processes_running(const std::string& command_line) {
  std::vector<int> found;
  for (int pid : processes_with(command_line)) {
    std::string text = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline");
    if (!text.empty() && text.back() == '\0') text.pop_back();
    std::replace(text.begin(), text.end(), '\0', ' ');
    if (text == command_line) found.push_back(pid);
  }
  return found;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool signal_pending(int pid, int sig) {
  // SigPnd: sent to the thread; ShdPnd: to the process (kill(2)). Hexadecimal masks, bit
  // sig - 1.
  for (const auto& line : lines_of(read_proc_file("/proc/" + std::to_string(pid) + "/status"))) {
    if (!line.starts_with("SigPnd:") && !line.starts_with("ShdPnd:")) continue;
    const unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
    if ((mask >> (sig - 1)) & 1ULL) return true;
  }
  return false;
}

bool none_left(const std::string& marker, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (processes_with(marker).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool process_group_gone(int pgid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(-pgid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool can_make_cgroups() {
  static const bool can =
      run_command({pipemux_exe(), "--cgroup", "required", "--", "true"}).exit_code == 0;
  return can;
}

std::string own_cgroup_directory() {
  std::string relative;
  for (const auto& line : lines_of(read_proc_file("/proc/self/cgroup")))
    if (line.starts_with("0::")) relative = line.substr(3);
  for (const auto& line : lines_of(read_proc_file("/proc/self/mountinfo"))) {
    // id parent major:minor root mount-point ... - cgroup2 ...
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (root == "/") return mount_point + relative;
  }
  return {};
}

std::vector<std::string> cgroups_left_by(int pid) {
  std::vector<std::string> left;
  const std::string prefix = "pipemux." + std::to_string(pid) + ".";
  DIR* dir = ::opendir(own_cgroup_directory().c_str());
  if (dir == nullptr) return left;
  while (const dirent* entry = ::readdir(dir))
    if (std::string(entry->d_name).starts_with(prefix)) left.emplace_back(entry->d_name);
  ::closedir(dir);
  return left;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t from = 0;
  while (from < text.size()) {
    const auto nl = text.find('\n', from);
    if (nl == std::string::npos) {
      lines.push_back(text.substr(from));
      break;
    }
    lines.push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

scoped_environment_variable::scoped_environment_variable(std::string name, const std::string& value)
    : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str())) saved_ = old;
  ::setenv(name_.c_str(), value.c_str(), 1);
}

scoped_environment_variable::~scoped_environment_variable() {
  if (saved_)
    ::setenv(name_.c_str(), saved_->c_str(), 1);
  else
    ::unsetenv(name_.c_str());
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  ::close(fd);
  return bound ? ntohs(address.sin_port) : 0;
}

}  // namespace pipemux::test
