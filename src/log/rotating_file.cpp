#include "pipemux/rotating_file.hpp"

#include <spdlog/sinks/daily_file_sink.h>
#include <spdlog/sinks/hourly_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace pipemux {
namespace {
using system_clock = std::chrono::system_clock;

std::tm local_time(system_clock::time_point when) {
  const std::time_t seconds = system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  return local;
}

std::error_code errno_code() {
  return {errno, std::system_category()};
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

rotating_file::rotating_file(std::string path, rotation_kind kind, std::uint64_t max_size,
                             std::size_t max_files)
    : path_(std::move(path)), kind_(kind), max_size_(max_size), max_files_(max_files) {}

// The descriptor is the fd_writer's once handed over: it closes it.
rotating_file::~rotating_file() = default;

std::shared_ptr<rotating_file> rotating_file::open(const std::string& path, rotation_kind kind,
                                                   std::uint64_t max_size, std::size_t max_files,
                                                   std::error_code& ec) {
  std::shared_ptr<rotating_file> file(new rotating_file(path, kind, max_size, max_files));
  // As spdlog's sinks do; a failure here shows as the open's own (ENOTDIR, EACCES).
  std::error_code ignored;
  if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty())
    std::filesystem::create_directories(dir, ignored);
  const auto now = system_clock::now();
  ec = file->open_current(-1, false);
  if (ec) return nullptr;
  if (kind == rotation_kind::daily || kind == rotation_kind::hourly) {
    file->rotate_at_ = file->next_rotation(now);
    // The files of the periods before, while there are some: the oldest go first later.
    const auto period =
        kind == rotation_kind::daily ? std::chrono::hours(24) : std::chrono::hours(1);
    for (auto when = now; file->max_files_ > 0 && file->kept_.size() < file->max_files_;
         when -= period) {
      std::string name = file->current_name(when);
      if (!exists(name)) break;
      file->kept_.push_front(std::move(name));
    }
  }
  return file;
}

std::string rotating_file::current_name(system_clock::time_point now) const {
  switch (kind_) {
    case rotation_kind::daily:
      return spdlog::sinks::daily_filename_calculator::calc_filename(path_, local_time(now));
    case rotation_kind::hourly:
      return spdlog::sinks::hourly_filename_calculator::calc_filename(path_, local_time(now));
    case rotation_kind::size:
    case rotation_kind::none:
      break;
  }
  return path_;
}

// Opens the current file; at `at_fd` (the writer's) if there is one, else as fd_.
std::error_code rotating_file::open_current(int at_fd, bool truncate) {
  const std::string name = current_name(system_clock::now());
  const int fd = ::open(name.c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd < 0) {
    const auto ec = errno_code();
    problem_ = "cannot open '" + name + "': " + ec.message();
    return ec;
  }
  struct stat st {};
  size_ = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  if (at_fd < 0) {
    fd_ = fd;
    return {};
  }
  // The new file takes the writer's descriptor number: a write already under way ends in the
  // old file, and the writer never holds a closed descriptor.
  const bool moved = ::dup3(fd, at_fd, O_CLOEXEC) >= 0;
  const auto ec = moved ? std::error_code() : errno_code();
  ::close(fd);
  if (ec) problem_ = "cannot open '" + name + "': " + ec.message();
  return ec;
}

std::error_code rotating_file::reopen() {
  const std::lock_guard lock(mutex_);
  return open_current(fd_, false);
}

std::string rotating_file::last_problem() const {
  const std::lock_guard lock(mutex_);
  return problem_;
}

std::size_t rotating_file::fits(std::string_view lines) {
  const std::lock_guard lock(mutex_);
  switch (kind_) {
    case rotation_kind::size: {
      if (size_ + lines.size() <= max_size_) return lines.size();
      // The whole lines that still fit under max_size.
      const std::size_t room = max_size_ > size_ ? max_size_ - size_ : 0;
      const auto* end = static_cast<const char*>(
          ::memrchr(lines.data(), '\n', std::min<std::size_t>(room, lines.size())));
      if (end != nullptr) return static_cast<std::size_t>(end - lines.data()) + 1;
      if (size_ > 0) return 0;
      // A line longer than max_size alone: its own file, as spdlog gives it.
      const auto* first_end = static_cast<const char*>(::memchr(lines.data(), '\n', lines.size()));
      return first_end != nullptr ? static_cast<std::size_t>(first_end - lines.data()) + 1
                                  : lines.size();
    }
    case rotation_kind::daily:
    case rotation_kind::hourly:
      return system_clock::now() >= rotate_at_ ? 0 : lines.size();
    case rotation_kind::none:
      break;
  }
  return lines.size();
}

std::error_code rotating_file::rotate(int fd) {
  const std::lock_guard lock(mutex_);
  if (kind_ == rotation_kind::size) {
    const std::error_code renamed = shift_numbered_files();
    // A new empty file even when a rename failed, as spdlog does: the file must not grow on.
    const std::error_code opened = open_current(fd, true);
    return renamed ? renamed : opened;
  }
  const auto now = system_clock::now();
  rotate_at_ = next_rotation(now);
  if (const std::error_code ec = open_current(fd, false)) return ec;
  forget_oldest_files();
  return {};
}

// run.log -> run.1.log -> run.2.log ... -> run.N.log (N = max_files), the last one replaced.
std::error_code rotating_file::shift_numbered_files() {
  using spdlog::sinks::rotating_file_sink_st;
  for (std::size_t i = max_files_; i > 0; --i) {
    const std::string from = rotating_file_sink_st::calc_filename(path_, i - 1);
    if (!exists(from)) continue;
    const std::string to = rotating_file_sink_st::calc_filename(path_, i);
    ::unlink(to.c_str());
    if (::rename(from.c_str(), to.c_str()) != 0) {
      const auto ec = errno_code();
      problem_ = fmt::format("cannot rename '{}' to '{}': {}", from, to, ec.message());
      return ec;
    }
  }
  return {};
}

// Daily and hourly files: the current one joins those kept; the oldest beyond max_files go.
void rotating_file::forget_oldest_files() {
  if (max_files_ == 0) return;
  std::string current = current_name(system_clock::now());
  if (kept_.empty() || kept_.back() != current) kept_.push_back(std::move(current));
  while (kept_.size() > max_files_) {
    ::unlink(kept_.front().c_str());
    kept_.pop_front();
  }
}

system_clock::time_point rotating_file::next_rotation(system_clock::time_point now) const {
  std::tm start = local_time(now);  // of this day or hour
  if (kind_ == rotation_kind::daily) start.tm_hour = 0;
  start.tm_min = 0;
  start.tm_sec = 0;
  const auto period =
      kind_ == rotation_kind::daily ? std::chrono::hours(24) : std::chrono::hours(1);
  const auto at = system_clock::from_time_t(std::mktime(&start));
  return at > now ? at : at + period;
}

void rotating_file::written(std::size_t bytes) {
  const std::lock_guard lock(mutex_);
  size_ += bytes;
}

}  // namespace pipemux
