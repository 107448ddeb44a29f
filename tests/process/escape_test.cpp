// Processes that escape their child's process group or session (setsid, set -m, daemons) come
// back to pipemux, a child subreaper, and are reaped, named and stopped with the rest; in a
// cgroup per run (as root) even pipemux's own SIGKILL leaves none of them; as a container's
// PID 1 it reaps every orphan, leaving no zombie.
#include <gtest/gtest.h>

#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::lines_of;
using test::none_left;
using test::pipemux_exe;
using test::run_command;

// Sends `sig` to pipemux once its output holds `ready` and the escaped process has exec'd
// `command_line`: until then it is the shell or setsid that forked for it (named so in the log
// when it is stopped, and maybe not yet out of the child's reach).
test::command_options signal_when_said_and_running(int sig, const std::string& ready,
                                                   const std::string& command_line) {
  return test::signal_when(
      sig,
      [ready, command_line](const std::string& out) {
        return out.find(ready) != std::string::npos &&
               !test::processes_running(command_line).empty();
      },
      30s);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The same escapes are met in two ways: with `--cgroup off` the subreaper gets them back when
// their parent dies and stops them at the end; in a cgroup (root here) the supervisor finds
// them there when the children are done, whoever their parent is.
class Escape : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (in_cgroup() && !test::can_make_cgroups()) GTEST_SKIP() << "no cgroup v2 to write here";
  }
  bool in_cgroup() const { return std::string(GetParam()) == "required"; }
  std::vector<std::string> pipemux(std::vector<std::string> args) const {
    args.insert(args.begin(), {pipemux_exe(), "--cgroup", GetParam()});
    return args;
  }
  // The log's line naming the escaped sleep as it is stopped: on a signal the subreaper sends
  // it the stop signal with the children, cgroup or not; at the end of a run that was not
  // stopped, the supervisor finds it in the cgroup, or the subreaper among its orphans.
  std::regex stopping_line(bool signalled) const {
    return std::regex(
        !signalled && in_cgroup()
            ? R"(\* still running after it ended: sleep\[)"
            : R"(\* escaped descendants still running: (\S+, )*sleep\[\d+\].*: sent SIGTERM)");
  }
};

TEST_P(Escape, AGrandchildInItsOwnSessionIsStoppedAndNamedOnSigterm) {
  // setsid -w: the sleep runs in a session of its own, out of reach of the child's group.
  const auto result =
      run_command(pipemux({"--stop-grace", "0.5", "--", "setsid", "-w", "sh", "-c",
                           "echo up; exec " + test::long_sleep()}),
                  signal_when_said_and_running(SIGTERM, "out | up", test::long_sleep()));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  // Sent SIGTERM with the child (so either may end first, and its parent may reap it), and
  // never SIGKILL: it ended on the stop signal.
  EXPECT_TRUE(std::regex_search(result.out, stopping_line(true))) << result.out;
  EXPECT_FALSE(contains(result.out, "SIGKILL")) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
  EXPECT_TRUE(test::cgroups_left_by(result.pid).empty());
}

TEST_P(Escape, AJobInAnotherProcessGroupIsStoppedOnSigterm) {
  // bash's job control puts the background job in a group of its own.
  const auto result =
      run_command(pipemux({"--stop-grace", "0.5", "--", "bash", "-c",
                           "set -m; " + test::long_sleep() + " & echo up; wait"}),
                  signal_when_said_and_running(SIGTERM, "out | up", test::long_sleep()));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(std::regex_search(result.out, stopping_line(true))) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

// A double fork with setsid, as daemons do; the child itself exits 0 at once. With
// `ignore_sigterm`, the daemon ignores SIGTERM. It says "daemonized" once the daemon runs
// sleep (its SIGTERM ignored by then): the pipe's write end, close-on-exec, is closed by the
// exec, so the read sees its end. A stop sent before would meet a python not yet named sleep,
// or one that a SIGTERM still kills.
std::string daemonizing_python(bool ignore_sigterm = false) {
  return "import os, signal\n"
         "r, w = os.pipe()\n"
         "if os.fork() == 0:\n"
         "    os.setsid()\n"
         "    if os.fork() == 0:\n" +
         std::string(ignore_sigterm ? "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                    : "") +
         "        os.execvp('sleep', ['sleep', '" + test::long_sleep().substr(6) +
         "'])\n"
         "    os._exit(0)\n"
         "os.close(w)\n"
         "os.read(r, 1)\n"
         "print('daemonized', flush=True)\n";
}

TEST_P(Escape, ADaemonLeftBehindByAChildThatExitedIsStoppedAtTheEnd) {
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_command(pipemux({"--stop-grace", "0.5", "--", "python3", "-c", daemonizing_python()}),
                  {.timeout = 30s});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "out | daemonized")) << result.out;
  EXPECT_TRUE(std::regex_search(result.out, stopping_line(false))) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
  EXPECT_TRUE(test::cgroups_left_by(result.pid).empty());
}

INSTANTIATE_TEST_SUITE_P(SubreaperOrCgroup, Escape, ::testing::Values("off", "required"));

// In a cgroup, every child has its own: <our cgroup>/pipemux.PID.N/INDEX, gone after the run.
TEST(EscapeCgroup, EachChildRunsInACgroupOfItsOwnRemovedAfterTheRun) {
  if (!test::can_make_cgroups()) GTEST_SKIP() << "no cgroup v2 to write here";
  const auto result =
      run_command({pipemux_exe(), "-n", "2", "--", "sh", "-c", "grep ^0:: /proc/self/cgroup"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::set<std::string> seen;
  const std::regex own_cgroup(R"(\| 0::/(.*/)?pipemux\.(\d+)\.\d+/(\d)$)");
  for (const auto& line : lines_of(result.out)) {
    std::smatch m;
    if (!std::regex_search(line, m, own_cgroup)) continue;
    EXPECT_EQ(std::stoi(m[2]), result.pid) << line;
    seen.insert(m[3]);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"0", "1"})) << result.out;
  EXPECT_TRUE(test::cgroups_left_by(result.pid).empty());
}

TEST(EscapeCgroup, NothingSurvivesPipemuxKilledWithSigkillNotEvenADaemon) {
  if (!test::can_make_cgroups()) GTEST_SKIP() << "no cgroup v2 to write here";
  // A session of its own, a job in its own group and a daemon: none is in a process group
  // that the guard knows; only the cgroup holds them all.
  const std::string sleep = test::long_sleep();
  const auto result = run_command(
      {pipemux_exe(), "--", "bash", "-c",
       "setsid " + sleep + " & set -m; " + sleep + " & python3 -c \"$0\"; echo up; wait",
       daemonizing_python()},
      {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
         if (!contains(out, "out | up")) return false;
         // Each of the three has exec'd sleep (bash's own command line holds it too).
         if (test::processes_running(sleep).size() < 3) return false;
         ::kill(pid, SIGKILL);
         return true;
       }});
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_TRUE(none_left(sleep)) << "left: " << test::processes_with(sleep).size();
  // The guard removes the run's cgroup once it is empty.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!test::cgroups_left_by(result.pid).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(test::cgroups_left_by(result.pid).empty());
}

TEST(EscapeCgroup, ALeftoverIgnoringTheStopSignalIsKilledAfterTheGraceAndNamed) {
  if (!test::can_make_cgroups()) GTEST_SKIP() << "no cgroup v2 to write here";
  const auto result = run_command(
      {pipemux_exe(), "--stop-grace", "0.3", "--", "python3", "-c", daemonizing_python(true)},
      {.timeout = 30s});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(std::regex_search(
      result.out, std::regex(R"(\* still running after it ended: sleep\[\d+\]: sent SIGTERM\n)")))
      << result.out;
  EXPECT_TRUE(std::regex_search(result.out,
                                std::regex(R"(\* still running: sleep\[\d+\]: sent SIGKILL\n)")))
      << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

TEST(EscapeCgroup, ARequiredCgroupThatCannotBeMadeFailsEachStartSayingWhy) {
  if (::geteuid() != 0 || !test::can_make_cgroups()) GTEST_SKIP() << "needs root and cgroup v2";
  // As nobody, in root's cgroup: mkdir there is refused.
  const auto result = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                   pipemux_exe(), "--cgroup", "required", "--", "true"});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_TRUE(std::regex_search(
      result.out, std::regex(R"(cannot start 'true': no cgroup: cannot create a cgroup in \S+: )"
                             R"(Permission denied\n)")))
      << result.out;
  // Where it may not, auto runs the children without one.
  const auto automatic = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                      pipemux_exe(), "--", "echo", "hi"});
  EXPECT_EQ(automatic.exit_code, 0) << automatic.out << automatic.err;
  EXPECT_TRUE(contains(automatic.out, "out | hi\n")) << automatic.out;
}

// Runs pipemux as PID 1 of a new PID namespace (as a container's entrypoint).
std::vector<std::string> as_pid_1(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"unshare", "--pid", "--fork", "--mount-proc"});
  return argv;
}

bool can_make_pid_namespaces() {
  return run_command({"unshare", "--pid", "--fork", "--mount-proc", "true"}).exit_code == 0;
}

TEST(EscapePid1, AsPid1EveryOrphanIsReapedAndNoZombieIsLeft) {
  if (!can_make_pid_namespaces()) GTEST_SKIP() << "no PID namespaces here (not root?)";
  // 100 daemonizing grandchildren; then, once pipemux has said it reaped all 100 (not after a
  // second's sleep: a loaded machine may take longer), the child counts the zombies in its
  // namespace.
  const std::string go = test::temp_path("pid1_orphans_counted");
  std::remove(go.c_str());
  const std::string script =
      "i=0; while [ $i -lt 100 ]; do (sleep 0.1 &); i=$((i+1)); done; "
      "while [ ! -e " +
      go +
      " ]; do sleep 0.01; done; z=0; "
      "for p in /proc/[0-9]*; do grep -q '^State:.*Z' $p/status 2>/dev/null && z=$((z+1)); "
      "done; echo zombies=$z";
  const auto reaped_sleeps = [](const std::string& out) {
    std::size_t reaped = 0;
    for (const auto& line : lines_of(out))
      reaped += contains(line, "* reaped sleep[") && contains(line, "exited with code 0");
    return reaped;
  };
  const auto result = run_command(as_pid_1({pipemux_exe(), "--", "sh", "-c", script}),
                                  {.timeout = 60s, .watch = [&](int, const std::string& out) {
                                     if (reaped_sleeps(out) < 100) return false;
                                     std::ofstream(go).put('\n');
                                     return true;
                                   }});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "out | zombies=0\n")) << result.out;
  EXPECT_EQ(reaped_sleeps(result.out), 100u);
}

TEST(EscapePid1, AsPid1SigtermDrainsAndExits143) {
  if (!can_make_pid_namespaces()) GTEST_SKIP() << "no PID namespaces here (not root?)";
  // The signal comes from outside the namespace, to the namespace's PID 1 (unshare's child).
  const auto result = run_command(
      as_pid_1({pipemux_exe(), "--", "sh", "-c", "echo up; exec " + test::long_sleep()}),
      {.timeout = 30s, .watch = [](int unshare_pid, const std::string& out) {
         if (!contains(out, "out | up")) return false;
         for (int pid_1 : test::children_of(unshare_pid)) ::kill(pid_1, SIGTERM);
         return true;
       }});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(contains(result.out, "received SIGTERM: stopping the children")) << result.out;
  EXPECT_TRUE(contains(result.out, "* killed by SIGTERM after")) << result.out;
  EXPECT_TRUE(none_left(test::long_sleep()));
}

TEST(EscapePid1, TheRunCgroupOfAKilledPid1IsRemovedByTheNextPipemux) {
  if (!can_make_pid_namespaces() || !test::can_make_cgroups())
    GTEST_SKIP() << "needs PID namespaces and cgroup v2";
  // SIGKILL to a container's PID 1 takes its guard with it, and the run's cgroup stays. The next
  // pipemux (PID 1 again, the same name) removes it: nobody holds it, it is empty, and it is
  // older than a run being made.
  std::string path;
  // The guard sees PID 1's end a moment before the kernel kills it too, and sometimes tears the
  // cgroup down itself: then there is nothing to show, and the test tries again.
  for (int attempt = 0; attempt < 5 && path.empty(); ++attempt) {
    const auto killed =
        run_command(as_pid_1({pipemux_exe(), "--cgroup", "required", "--", "sh", "-c",
                              "grep ^0:: /proc/self/cgroup; exec " + test::long_sleep()}),
                    {.timeout = 30s, .watch = [](int unshare_pid, const std::string& out) {
                       if (!contains(out, "out | 0::")) return false;
                       for (int pid_1 : test::children_of(unshare_pid)) ::kill(pid_1, SIGKILL);
                       return true;
                     }});
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(killed.out, m, std::regex(R"(out \| 0::/(?:.*/)?(pipemux\.1\.\d+)/0)")))
        << killed.out;
    const std::string left = test::own_cgroup_directory() + "/" + std::string(m[1]);
    // Once the namespace's last process (the guard, maybe mid-teardown) is gone.
    test::eventually(
        [&] { return !contains(test::read_file(left + "/cgroup.events"), "populated 1"); }, 5s);
    if (std::filesystem::exists(left)) path = left;
  }
  ASSERT_FALSE(path.empty()) << "the guard removed the cgroup every time: nothing to show";
  // A cgroup younger than two seconds may be one being made: it is not touched.
  std::this_thread::sleep_for(2100ms);
  // Another pipemux looking at it at that moment (a second suite running this test) holds its
  // lock for an instant: each pipemux looks once, so a few runs are given the chance.
  for (int run = 0; run < 3 && std::filesystem::exists(path); ++run) {
    const auto next = run_command(as_pid_1({pipemux_exe(), "--cgroup", "required", "--", "true"}));
    EXPECT_EQ(next.exit_code, 0) << next.err;
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << path;
}

// README "In a container": a Procfile, JSON on standard output for the collector, and the
// runtime's SIGTERM to PID 1 (docker stop). Every line parses; each child's numbered lines are
// all there, in order, up to what it had written when it was stopped; exit 143.
TEST(EscapePid1, AsAContainerEntrypointJsonOnStdoutLosesNothingOnSigterm) {
  if (!can_make_pid_namespaces()) GTEST_SKIP() << "no PID namespaces here (not root?)";
  const std::string record = test::temp_path("container_record_");
  const std::string spam = "exec " + pipemux_exe() +
                           " spam --count 1000000 --interval 0.0005 --sequence --record " + record;
  const std::string procfile = test::temp_path("Procfile");
  std::ofstream(procfile) << "web: " << spam << "\nworker: " << spam << "\nclock: " << spam << "\n";
  const auto result = run_command(
      as_pid_1({pipemux_exe(), "--procfile", procfile, "--format", "json"}),
      {.timeout = 60s, .watch = [](int unshare_pid, const std::string& out) {
         // Once each of the three has logged 301 lines of output, so that it has
         // counted 300 as written (it counts a line once its write returned): objects
         // of kind "line" only. Its "start" report names it too, and counted as one
         // of 300 it let the stop come when only 299 had been written.
         std::map<std::string, std::size_t> lines;
         for (const auto& object : lines_of(out))
           if (contains(object, "\"kind\":\"line\""))
             for (const char* name : {"web", "worker", "clock"})
               lines[name] += contains(object, "\"name\":\"" + std::string(name) + "\"");
         for (const char* name : {"web", "worker", "clock"})
           if (lines[name] < 301) return false;
         for (int pid_1 : test::children_of(unshare_pid)) ::kill(pid_1, SIGTERM);
         return true;
       }});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  const std::string log = test::temp_path("container.jsonl");
  std::ofstream(log) << result.out;
  // Per child: "NAME INDEX LOGGED in order|out of order", then each exit's signal.
  const auto checked = run_command({"python3", "-c", R"PY(
import json, re, sys
seqs, exits = {}, {}
for raw in open(sys.argv[1], "rb"):
    obj = json.loads(raw.decode("utf-8"))
    if obj.get("kind") == "line":
        seqs.setdefault((obj["name"], obj["index"]), []).append(
            int(re.fullmatch(r"Spam \d child=\d+ seq=(\d+)", obj["message"]).group(1)))
    elif obj["kind"] == "exit":
        exits[obj["index"]] = obj.get("signal", obj.get("code"))
for (name, index), got in sorted(seqs.items(), key=lambda item: item[0][1]):
    order = "in order" if got == list(range(len(got))) else "out of order"
    print(name, index, len(got), order, exits.get(index))
)PY",
                                    log});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  const auto lines = lines_of(checked.out);
  ASSERT_EQ(lines.size(), 3U) << checked.out;
  const char* names[] = {"web", "worker", "clock"};
  for (int i = 0; i < 3; ++i) {
    std::uint64_t written = 0;
    std::ifstream(record + std::to_string(i)) >> written;
    std::istringstream fields(lines[i]);
    std::string name, order, signal, in;
    int index = -1;
    std::uint64_t logged = 0;
    fields >> name >> index >> logged >> in >> order >> signal;
    EXPECT_EQ(name, names[i]);
    EXPECT_EQ(index, i);
    EXPECT_EQ(in, "in");
    EXPECT_EQ(order, "order");
    EXPECT_EQ(signal, "SIGTERM") << "stopped by the runtime's signal, passed on";
    // A message whose write() returned just before the signal is logged but not yet counted.
    EXPECT_GE(logged, written) << lines[i];
    EXPECT_LE(logged, written + 1) << lines[i];
    EXPECT_GE(written, 300U);
  }
  EXPECT_TRUE(none_left(record));
}

}  // namespace
}  // namespace pipemux
