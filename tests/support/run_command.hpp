// Test support: runs a command as a real child process and captures what it printed.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pipemux::test {

struct command_result {
  int exit_code = -1;  ///< when it exited
  int signal = 0;      ///< when a signal killed it
  bool timed_out = false;
  std::string out;
  std::string err;
  int pid = -1;
};

struct command_options {
  std::chrono::milliseconds timeout{60000};  ///< then SIGKILL, and timed_out is set
  /// Called once `pid` is running, then for each chunk of its output and at least every
  /// 100 ms, with its stdout so far; return true to stop being called.
  std::function<bool(int pid, const std::string& out_so_far)> watch;
  std::string stdout_path;  ///< not empty: the child's stdout is this file instead
  int stdout_fd = -1;       ///< >= 0: the child's stdout is this descriptor (the test's to close)
  /// A slow reader of its stdout: at most `slow_read_bytes` per read, then a pause of
  /// `slow_read_pause` (0: read as fast as it comes).
  std::size_t slow_read_bytes = 0;
  std::chrono::milliseconds slow_read_pause{0};
};

command_result run_command(const std::vector<std::string>& argv,
                           const command_options& options = {});

/// Options that send `sig` to the command once `enough` is true of its stdout so far.
command_options signal_when(int sig, std::function<bool(const std::string&)> enough,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// A path in a directory of this test process's own: two runs of the suite at once (CI under
/// load, sanitizer builds side by side) must not share files. The directory is removed with
/// everything in it when the process exits.
std::string temp_path(const std::string& name);

/// `name` made unique to this test process, for markers in command lines: two suites running
/// at once must not see each other's processes.
std::string unique(const std::string& name);

/// "sleep N" with N unique to this test process (hours long: the test stops it), so that
/// none_left() finds only this test's sleeps.
std::string long_sleep();

/// The pipemux binary under test: this build's, or $PIPEMUX_TEST_EXE when set (to run a new
/// test against an older build and see it fail there).
std::string pipemux_exe();

/// A loopback port nobody listens on now (for TCP and UDP alike, most likely); 0 when the
/// system gives none.
int free_port();

/// Child pids of `parent` still present in /proc (zombies included).
std::vector<int> children_of(int parent);

/// Pids of live processes (zombies left out) whose command line (arguments joined by spaces)
/// contains `marker`.
std::vector<int> processes_with(const std::string& marker);

/// Pids of live processes whose command line (arguments joined by spaces) is `command_line`
/// exactly: a process about to exec it (a shell that forked for it, `setsid`) is not one yet.
std::vector<int> processes_running(const std::string& command_line);

/// Polls `condition` every 10 ms until it holds (true) or `limit` has passed (false): for an
/// event that shows only as state (a file, a process, /proc), waited for instead of slept on.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(30));

/// Whether `sig` is pending for process `pid`, sent but not yet taken by it (blocked, or it
/// has not run since). Two of the same signal pending at once are one: wait until it is not
/// before sending another.
bool signal_pending(int pid, int sig);

/// Waits up to `limit` for no live process with `marker` in its command line to be left.
bool none_left(const std::string& marker,
               std::chrono::milliseconds limit = std::chrono::seconds(2));

/// Waits up to `limit` for no process with this process group id to exist.
bool process_group_gone(int pgid, std::chrono::milliseconds limit);

/// Whether pipemux may put its children in a cgroup here (`--cgroup required` works).
bool can_make_cgroups();

/// The directory of this process's cgroup v2 (the cgroup2 mount joined with the "0::" path of
/// /proc/self/cgroup): pipemux makes its run's cgroup inside. Empty when there is none.
std::string own_cgroup_directory();

/// The run cgroups ("pipemux.PID.N") that pipemux process `pid` left in our cgroup.
std::vector<std::string> cgroups_left_by(int pid);

/// The whole of a file's bytes ("" when it cannot be read).
std::string read_file(const std::string& path);

/// Lines of `text`, without their '\n'.
std::vector<std::string> lines_of(const std::string& text);

/// Sets an environment variable of this process for a scope, and puts back what was there.
class scoped_environment_variable {
 public:
  scoped_environment_variable(std::string name, const std::string& value);
  ~scoped_environment_variable();
  scoped_environment_variable(const scoped_environment_variable&) = delete;
  scoped_environment_variable& operator=(const scoped_environment_variable&) = delete;

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

}  // namespace pipemux::test
