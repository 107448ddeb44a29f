#include "orphan_reaper.hpp"

#include <boost/asio/post.hpp>

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

// The children of `pid`, from /proc/PID/task/*/children (each thread's own).
std::vector<int> children_of(const std::string& pid) {
  std::vector<int> pids;
  const std::string tasks_path = "/proc/" + pid + "/task";
  DIR* tasks = ::opendir(tasks_path.c_str());
  if (tasks == nullptr) return pids;
  while (const dirent* task = ::readdir(tasks)) {
    if (task->d_name[0] == '.') continue;
    std::ifstream list(tasks_path + "/" + task->d_name + "/children");
    int child = 0;
    while (list >> child) pids.push_back(child);
  }
  ::closedir(tasks);
  return pids;
}

// Dead but not reaped yet: nothing to signal (its parent, or we, will reap it).
bool is_zombie(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto name_end = line.rfind(')');
  return name_end != std::string::npos && name_end + 2 < line.size() && line[name_end + 2] == 'Z';
}

std::string names_of(const std::vector<int>& pids) {
  std::string names;
  for (int pid : pids)
    names += fmt::format("{}{}[{}]", names.empty() ? "" : ", ", command_name(pid), pid);
  return names;
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
  reap_soon();  // an orphan that got this pid meanwhile was left alone: look again
}

void orphan_reaper::wait_for_sigchld() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || closed_) return;
    reap_soon();
    wait_for_sigchld();
  });
}

// Once for all the children that ended in this turn of the loop: each look lists every child
// of ours, so a look per ending made 4,096 children ending at once cost seconds.
void orphan_reaper::reap_soon() {
  if (reap_posted_) return;
  reap_posted_ = true;
  asio::post(sigchld_.get_executor(), [this] {
    reap_posted_ = false;
    if (!closed_) reap();
  });
}

// Every descendant of this process outside the children's process groups (each child leads
// its own: its pgid is a tracked pid), the guard left out. Parents come before their children,
// so that one that ignores the stop signal is found while its parent still holds it, and the
// children's own trees are searched too: a `setsid` job leaves its group, not its parent.
std::vector<int> orphan_reaper::escaped() const {
  std::vector<int> found;
  std::vector<int> to_visit = children_of("self");
  while (!to_visit.empty()) {
    const int pid = to_visit.back();
    to_visit.pop_back();
    for (int child : children_of(std::to_string(pid))) to_visit.push_back(child);
    if (supervised(pid)) continue;
    const pid_t group = ::getpgid(pid);
    if (group < 0 || supervised(group)) continue;  // gone, or the supervisor's to stop
    if (command_name(pid) == "pipemux-guard" || is_zombie(pid)) continue;
    found.push_back(pid);
  }
  return found;
}

void orphan_reaper::reap() {
  // Our own children that are not the supervisor's: orphans that came back to us.
  for (int pid : children_of("self")) {
    if (supervised(pid)) continue;
    const std::string name = command_name(pid);  // readable until reaped
    if (name == "pipemux-guard") continue;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) continue;  // still running
    report_(false, fmt::format("reaped {}[{}], an orphaned descendant: {}", name, pid,
                               describe(exit_status::from_wait_status(status))));
  }
  // One that came back, or turned up, since the stop signal or the kill round: a process
  // re-parented to us as its parent dies is seen in neither's tree for a moment.
  if (sequence_.killed())
    kill_escaped();
  else if (sequence_.stopping())
    stop_new_escaped();
  finish_if_none_left();
}

// The stop signal (and SIGCONT) to each escaped descendant that has not had it yet, named.
void orphan_reaper::stop_new_escaped() {
  std::vector<int> first_time;
  for (int pid : escaped())
    if (stopped_.insert(pid).second) first_time.push_back(pid);
  if (first_time.empty()) return;
  const stop_sequence::signal_list signals = sequence_.signals_now();
  report_(true, fmt::format("escaped descendants still running: {}: sent {}", names_of(first_time),
                            signal_name(signals[0])));
  for (int pid : first_time)
    for (const int sig : signals) ::kill(pid, sig);
}

void orphan_reaper::stop_escaped(int stop_signal, std::chrono::milliseconds grace) {
  if (sequence_.stopping() || closed_) return;
  sequence_ = stop_sequence(stop_signal, grace);
  sequence_.stop(std::chrono::steady_clock::now());
  const auto deadline = sequence_.kill_deadline();
  if (!deadline) return kill_all();  // a stop signal of SIGKILL: no grace
  stop_new_escaped();
  kill_timer_.expires_at(*deadline);
  kill_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) kill_all();
  });
}

void orphan_reaper::stop_all(int stop_signal, std::chrono::milliseconds grace,
                             std::function<void()> done) {
  reap();  // those the supervisor stopped in its cgroup: gone, only their status is left
  on_all_gone_ = std::move(done);
  if (escaped().empty()) return finish_if_none_left();
  if (!sequence_.stopping()) stop_escaped(stop_signal, grace);
  if (sequence_.killed()) kill_all();  // a stop came earlier: no new grace now
}

void orphan_reaper::kill_all() {
  reap();  // the dead first: only the living are named and killed
  const bool first_round = !sequence_.killed();
  sequence_.kill();
  if (kill_escaped() || first_round) {
    kill_timer_.expires_after(kill_wait);
    kill_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) give_up_waiting();
    });
  }
  reap();
}

// SIGKILL to each escaped descendant, named in the log the first time; whether there was any.
bool orphan_reaper::kill_escaped() {
  const auto running = escaped();
  std::vector<int> first_time;
  for (int pid : running)
    if (killed_.insert(pid).second) first_time.push_back(pid);
  if (!first_time.empty())
    report_(true, fmt::format("{} still running: sent SIGKILL", names_of(first_time)));
  for (int pid : running)
    for (const int sig : sequence_.signals_now()) ::kill(pid, sig);
  return !running.empty();
}

// Killed yet still there: in uninterruptible sleep (a hung NFS mount, a device). Named, and
// not waited for: it dies when it wakes, and init reaps it once we are gone.
void orphan_reaper::give_up_waiting() {
  if (!on_all_gone_) return;
  if (const auto left = escaped(); !left.empty())
    report_(true, fmt::format("{} still running {:.3g} s after SIGKILL: not waiting for it",
                              names_of(left), std::chrono::duration<double>(kill_wait).count()));
  auto done = std::move(on_all_gone_);
  on_all_gone_ = nullptr;
  done();
}

void orphan_reaper::finish_if_none_left() {
  if (!on_all_gone_ || !escaped().empty()) return;
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
