// A log file that rotates, written through an fd_writer: by size (run.log, run.1.log, ...
// run.N.log, the oldest dropped), or a new file each day (run_2026-12-06.log) or hour
// (run_2026-12-06_21.log), old ones deleted past a count. The names and the rules are spdlog's
// rotating, daily and hourly file sinks', so files made by either are continued by the other;
// unlike them, rotating happens on the writer's thread, between two whole lines, so renaming a
// thousand files never holds up the event loop, and a full disk leaves no torn line behind
// (fd_writer cuts it off).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "pipemux/fd_writer.hpp"
#include "pipemux/log_options.hpp"

namespace pipemux {

class rotating_file final : public fd_writer::rotation {
 public:
  /// Opens (appending, making missing directories as spdlog does) the file the scheme writes
  /// now: `path` itself for size rotation, today's or this hour's name otherwise. Files kept
  /// besides the current one: `max_files` (size: 0 keeps none; daily, hourly: 0 keeps all).
  /// Null, with `ec` set, when it cannot.
  static std::shared_ptr<rotating_file> open(const std::string& path, rotation_kind kind,
                                             std::uint64_t max_size, std::size_t max_files,
                                             std::error_code& ec);
  ~rotating_file() override;
  rotating_file(const rotating_file&) = delete;
  rotating_file& operator=(const rotating_file&) = delete;

  /// The descriptor of the file open now: give it to the fd_writer (which then owns it).
  int fd() const noexcept { return fd_; }

  /// Opens the current file by its name again and puts it at the writer's descriptor
  /// (logrotate moved it away; SIGUSR1). From any thread.
  std::error_code reopen();

  /// What the last failed rotation or reopen said ("cannot rename run.log to run.1.log: ...").
  std::string last_problem() const;

  std::size_t fits(std::string_view lines) override;
  std::error_code rotate(int fd) override;
  void written(std::size_t bytes) override;

 private:
  rotating_file(std::string path, rotation_kind kind, std::uint64_t max_size,
                std::size_t max_files);
  std::string current_name(std::chrono::system_clock::time_point now) const;
  std::error_code open_current(int at_fd, bool truncate);
  std::error_code shift_numbered_files();
  void forget_oldest_files();
  std::chrono::system_clock::time_point next_rotation(
      std::chrono::system_clock::time_point now) const;

  const std::string path_;
  const rotation_kind kind_;
  const std::uint64_t max_size_;
  const std::size_t max_files_;
  mutable std::mutex mutex_;  // the writer's thread rotates, the loop reopens
  int fd_ = -1;
  std::uint64_t size_ = 0;                           // of the current file
  std::chrono::system_clock::time_point rotate_at_;  // daily, hourly
  std::deque<std::string> kept_;                     // daily, hourly: oldest first
  std::string problem_;
};

}  // namespace pipemux
