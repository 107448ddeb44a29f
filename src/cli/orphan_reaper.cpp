#include "orphan_reaper.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <sstream>

#include "pipemux/exit_status.hpp"

namespace pipemux::cli {
namespace asio = boost::asio;

namespace {

std::string command_name(int pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

// This process's children, from /proc/self/task/*/children (each thread's own).
std::vector<int> children_of_this_process() {
  std::vector<int> pids;
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return pids;
  while (const dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream list(std::string("/proc/self/task/") + task->d_name + "/children");
    int pid = 0;
    while (list >> pid) pids.push_back(pid);
  }
  ::closedir(tasks);
  return pids;
}

}  // namespace

orphan_reaper::orphan_reaper(asio::io_context& io, report_handler report)
    : sigchld_(io, SIGCHLD), kill_timer_(io), report_(std::move(report)) {
  if (::getpid() != 1) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  wait_for_sigchld();
}

void orphan_reaper::track(int pid) {
  if (pid > 0) tracked_.insert(pid);
}

void orphan_reaper::untrack(int pid) {
  tracked_.erase(pid);
  reap();  // an orphan that got this pid meanwhile was left alone: look again
}

void orphan_reaper::wait_for_sigchld() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || closed_) return;
    reap();
    wait_for_sigchld();
  });
}

// Children that are neither the supervisor's children nor its guard.
std::vector<int> orphan_reaper::orphans() const {
  std::vector<int> found;
  for (int pid : children_of_this_process())
    if (!tracked_.contains(pid) && command_name(pid) != "pipemux-guard") found.push_back(pid);
  return found;
}

void orphan_reaper::reap() {
  for (int pid : orphans()) {
    const std::string name = command_name(pid);  // readable until reaped
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) continue;  // still running
    report_(false, fmt::format("reaped {}[{}], an orphaned descendant: {}", name, pid,
                               describe(exit_status::from_wait_status(status))));
  }
  finish_if_none_left();
}

void orphan_reaper::stop_all(int stop_signal, std::chrono::milliseconds grace,
                             std::function<void()> done) {
  reap();  // those the supervisor stopped in its cgroup: gone, only their status is left
  const auto running = orphans();
  if (running.empty()) {
    if (done) done();
    return;
  }
  on_all_gone_ = std::move(done);
  std::string names;
  for (int pid : running) {
    names += fmt::format("{}{}[{}]", names.empty() ? "" : ", ", command_name(pid), pid);
    ::kill(pid, stop_signal);
    ::kill(pid, SIGCONT);  // a stopped process acts on no other signal
  }
  report_(true, fmt::format("orphaned descendants still running: {}: sent {}", names,
                            signal_name(stop_signal)));
  kill_timer_.expires_after(grace);
  kill_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) kill_all();
  });
  reap();
}

void orphan_reaper::kill_all() {
  kill_timer_.cancel();
  for (int pid : orphans()) {
    report_(true, fmt::format("{}[{}] still running: sent SIGKILL", command_name(pid), pid));
    ::kill(pid, SIGKILL);
  }
}

void orphan_reaper::finish_if_none_left() {
  if (!on_all_gone_ || !orphans().empty()) return;
  kill_timer_.cancel();
  auto done = std::move(on_all_gone_);
  on_all_gone_ = nullptr;
  done();
}

void orphan_reaper::close() {
  closed_ = true;
  kill_timer_.cancel();
  boost::system::error_code ignored;
  sigchld_.cancel(ignored);
}

}  // namespace pipemux::cli
