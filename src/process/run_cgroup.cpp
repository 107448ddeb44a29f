#include "process/run_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace pipemux::detail {
namespace {

// The whole of a small file (procfs, cgroupfs), with read(2): these files have no size.
std::string read_small_file(int dir_fd, const char* path) {
  std::string text;
  const unique_fd fd(::openat(dir_fd, path, O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

std::string_view next_line(std::string_view& text) {
  const auto end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

// Our cgroup v2 as a directory: the cgroup2 mount (from mountinfo) joined with the path that
// /proc/self/cgroup gives on its "0::" line. Empty, with `why`, when there is none.
std::string own_cgroup_directory(std::string& relative_path, std::string& why) {
  const std::string cgroups = read_small_file(AT_FDCWD, "/proc/self/cgroup");
  std::string_view rest = cgroups;
  while (!rest.empty()) {
    const auto line = next_line(rest);
    if (line.starts_with("0::")) relative_path = line.substr(3);
  }
  if (relative_path.empty()) {
    why = "this process is in no cgroup v2 (/proc/self/cgroup has no 0:: line)";
    return {};
  }
  const std::string mounts = read_small_file(AT_FDCWD, "/proc/self/mountinfo");
  rest = mounts;
  while (!rest.empty()) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const auto line = next_line(rest);
    const auto separator = line.find(" - ");
    if (separator == std::string_view::npos || !line.substr(separator + 3).starts_with("cgroup2 "))
      continue;
    std::string_view fields = line.substr(0, separator);
    std::string_view field[5];
    for (auto& f : field) {
      const auto end = fields.find(' ');
      f = fields.substr(0, end);
      fields.remove_prefix(end == std::string_view::npos ? fields.size() : end + 1);
    }
    const std::string_view root = field[3];
    const std::string_view mount_point = field[4];
    if (root == "/") return std::string(mount_point) + relative_path;
    if (std::string_view(relative_path).starts_with(root))
      return std::string(mount_point) + relative_path.substr(root.size());
  }
  why = "no cgroup2 file system is mounted where this process can see its own cgroup";
  return {};
}

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

bool write_text(int dir_fd, const char* file, const char* text) noexcept {
  const int fd = ::openat(dir_fd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const auto length = static_cast<ssize_t>(std::strlen(text));
  const bool written = ::write(fd, text, static_cast<std::size_t>(length)) == length;
  ::close(fd);
  return written;
}

// cgroup.events says "populated 0" once no process is left in the group or below it.
bool cgroup_populated(int dir_fd) noexcept {
  const int fd = ::openat(dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[256];
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return false;
  text[n] = '\0';
  const char* field = std::strstr(text, "populated ");
  return field != nullptr && field[std::strlen("populated ")] == '1';
}

// Removes the (empty) child groups in the run's cgroup: those that were made, read from the
// directory (the guard's capacity counts up to 2,048 children that `scale` might add, and
// trying each number cost a run 2 ms at its end). Async-signal-safe: getdents64 into the stack.
void remove_child_groups(int dir_fd) noexcept {
  const int listing = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing < 0) return;
  alignas(8) char entries[4096];
  // A removal may shift the directory's offsets under the listing: list again until a pass
  // finds nothing it can remove.
  for (int pass = 0; pass < 64; ++pass) {
    bool removed = false;
    ::lseek(listing, 0, SEEK_SET);
    long n = 0;
    while ((n = ::syscall(SYS_getdents64, listing, entries, sizeof entries)) > 0) {
      for (long at = 0; at < n;) {
        const auto* entry = reinterpret_cast<const dirent64*>(entries + at);
        if (entry->d_type == DT_DIR && entry->d_name[0] != '.' &&
            ::unlinkat(dir_fd, entry->d_name, AT_REMOVEDIR) == 0)
          removed = true;
        at += entry->d_reclen;
      }
    }
    if (!removed) break;
  }
  ::close(listing);
}

// Whether `name` is a run cgroup's: "pipemux.PID.N".
bool is_run_cgroup_name(std::string_view name) {
  constexpr std::string_view prefix = "pipemux.";
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  const auto dot = name.find('.');
  return dot != 0 && dot != std::string_view::npos && dot + 1 < name.size() &&
         name.find_first_not_of("0123456789.") == std::string_view::npos;
}

// Run cgroups that a pipemux killed with SIGKILL left behind together with its guard (a
// container's PID 1 takes its guard with it). A live run holds an flock on its cgroup's
// directory, in its own process and its guard's, whatever PID namespace it is in: one that
// nobody locks, older than a second (not one being made) and empty of processes is stale.
// Looked for once per process, before its first run cgroup is made.
void remove_stale_run_cgroups(int parent_fd) {
  static bool done = false;
  if (std::exchange(done, true)) return;
  DIR* entries = ::fdopendir(::fcntl(parent_fd, F_DUPFD_CLOEXEC, 0));
  if (entries == nullptr) return;
  std::vector<std::string> candidates;
  while (const dirent* entry = ::readdir(entries))
    if (is_run_cgroup_name(entry->d_name)) candidates.emplace_back(entry->d_name);
  ::closedir(entries);
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  for (const auto& name : candidates) {
    const unique_fd dir(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat made {};
    if (dir.get() < 0 || ::flock(dir.get(), LOCK_EX | LOCK_NB) != 0 ||
        ::fstat(dir.get(), &made) != 0 || now.tv_sec - made.st_ctim.tv_sec < 2 ||
        cgroup_populated(dir.get()))
      continue;
    if (DIR* children = ::fdopendir(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0))) {
      while (const dirent* child = ::readdir(children))
        if (child->d_type == DT_DIR && child->d_name[0] != '.')
          ::unlinkat(dir.get(), child->d_name, AT_REMOVEDIR);
      ::closedir(children);
    }
    ::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR);
  }
}

}  // namespace

std::unique_ptr<run_cgroup> run_cgroup::create(std::string& why) {
  std::unique_ptr<run_cgroup> group(new run_cgroup());
  const std::string parent = own_cgroup_directory(group->path_, why);
  if (parent.empty()) return nullptr;
  group->parent_.reset(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (group->parent_.get() < 0) {
    why = "cannot open " + parent + ": " + errno_text(errno);
    return nullptr;
  }
  // One at a time in this process: the stale ones are looked for before the first is made, and
  // a new one is locked before another run of ours could look.
  static std::mutex creating;
  const std::lock_guard lock(creating);
  remove_stale_run_cgroups(group->parent_.get());
  // Unique per process and run; a name left by a killed process of the same pid is skipped.
  static std::atomic<unsigned> serial{0};
  const std::string prefix = "pipemux." + std::to_string(::getpid()) + ".";
  int made = -1;
  for (int attempt = 0; attempt < 100 && made != 0; ++attempt) {
    group->name_ = prefix + std::to_string(++serial);
    made = ::mkdirat(group->parent_.get(), group->name_.c_str(), 0755);
    if (made != 0 && errno != EEXIST) {
      why = "cannot create a cgroup in " + parent + ": " + errno_text(errno);
      return nullptr;
    }
  }
  if (made != 0) {
    why = "cannot create a cgroup in " + parent + ": every name is taken";
    return nullptr;
  }
  group->path_ += (group->path_.ends_with('/') ? "" : "/") + group->name_;
  group->dir_.reset(
      ::openat(group->parent_.get(), group->name_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const bool opened = group->dir_.get() >= 0;
  if (!opened || ::faccessat(group->dir_.get(), "cgroup.kill", W_OK, 0) != 0) {
    why = opened
              ? "this kernel has no cgroup.kill (Linux 5.14 or later is needed)"
              : "cannot open the cgroup " + parent + "/" + group->name_ + ": " + errno_text(errno);
    ::unlinkat(group->parent_.get(), group->name_.c_str(), AT_REMOVEDIR);
    return nullptr;
  }
  // Held as long as this process or its guard holds the directory open: the cgroup is live
  // (see remove_stale_run_cgroups).
  ::flock(group->dir_.get(), LOCK_EX | LOCK_NB);
  return group;
}

std::string run_cgroup::child_path(std::size_t child) const {
  return path_ + "/" + std::to_string(child);
}

unique_fd run_cgroup::open_for(std::size_t child, std::error_code& ec) const {
  const std::string name = std::to_string(child);
  if (::mkdirat(dir_.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    ec.assign(errno, std::generic_category());
    return unique_fd();
  }
  unique_fd group(::openat(dir_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (group.get() < 0) ec.assign(errno, std::generic_category());
  return group;
}

std::vector<int> run_cgroup::members(std::size_t child) const {
  std::vector<int> pids;
  const std::string procs =
      read_small_file(dir_.get(), (std::to_string(child) + "/cgroup.procs").c_str());
  std::string_view rest = procs;
  while (!rest.empty()) {
    const auto line = next_line(rest);
    int pid = 0;
    for (char digit : line) pid = pid * 10 + (digit - '0');
    if (pid > 0) pids.push_back(pid);
  }
  return pids;
}

bool run_cgroup::signal_member(std::size_t child, int pid, int sig) const noexcept {
  // By syscall: glibc 2.36's <sys/pidfd.h> declares its wrappers without extern "C".
  try {
    const unique_fd process(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (process.get() < 0) return false;
    // The pidfd pins the process: if /proc names our cgroup now, it is the one we listed (or
    // another of ours, which gets the same treatment), never a stranger that took the pid.
    const std::string cgroups =
        read_small_file(AT_FDCWD, ("/proc/" + std::to_string(pid) + "/cgroup").c_str());
    const std::string expected = "0::" + child_path(child);
    std::string_view rest = cgroups;
    while (!rest.empty())
      if (next_line(rest) == expected)
        return ::syscall(SYS_pidfd_send_signal, process.get(), sig, nullptr, 0) == 0;
    return false;
  } catch (...) {  // out of memory: this one is left to kill()
    return false;
  }
}

bool run_cgroup::populated() const noexcept {
  return cgroup_populated(dir_.get());
}

void run_cgroup::kill() const noexcept {
  write_text(dir_.get(), "cgroup.kill", "1");
}

std::string process_name(int pid) {
  std::string name = read_small_file(AT_FDCWD, ("/proc/" + std::to_string(pid) + "/comm").c_str());
  if (name.ends_with('\n')) name.pop_back();
  return name.empty() ? "?" : name;
}

void teardown_run_cgroup(int parent_fd, const char* name, int dir_fd) noexcept {
  write_text(dir_fd, "cgroup.kill", "1");
  // Killed processes leave the group as they exit (a zombie is no longer in it); one in an
  // uninterruptible sleep may take a while: the groups of a process that never ends stay.
  for (int tries = 0; tries < 400 && cgroup_populated(dir_fd); ++tries) {
    const timespec pause{0, 5'000'000};
    ::nanosleep(&pause, nullptr);
  }
  remove_child_groups(dir_fd);
  ::unlinkat(parent_fd, name, AT_REMOVEDIR);
}

}  // namespace pipemux::detail
