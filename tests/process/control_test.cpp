// The control socket (--control, pipemux ctl): status, restart, stop, start, scale, reopen and
// stop-all through a real socket, against real children whose pids are checked; who may
// connect; and what a malformed, oversized or silent client gets, with the run going on.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_command.hpp"

namespace pipemux {
namespace {

using namespace std::chrono_literals;
using test::command_result;
using test::pipemux_exe;
using test::run_command;

command_result ctl(const std::string& socket, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {pipemux_exe(), "ctl", "--socket", socket};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, {.timeout = 20s});
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The pid each "NAME up PID" line says, in order.
std::vector<int> pids_said(const std::string& out, const std::string& name) {
  std::vector<int> pids;
  const std::string up = name + " up ";
  for (auto at = out.find(up); at != std::string::npos; at = out.find(up, at + 1)) {
    const auto digits = at + up.size();
    const auto end = out.find_first_not_of("0123456789", digits);
    if (end != digits && end != std::string::npos) pids.push_back(std::stoi(out.substr(digits)));
  }
  return pids;
}

// The status table's line for `label`, split into its columns.
std::vector<std::string> status_row(const std::string& table, const std::string& label) {
  for (const auto& line : test::lines_of(table))
    if (line.starts_with(label + " ")) {
      std::vector<std::string> columns;
      std::size_t at = 0;
      for (int column = 0; column < 6; ++column) {  // label pid uptime(2 words) restarts lines
        at = line.find_first_not_of(' ', at);
        const auto end = line.find(' ', at);
        columns.push_back(line.substr(at, end - at));
        at = end;
      }
      return columns;
    }
  return {};
}

bool alive(int pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

std::string up_command(const std::string& name) {
  // exec: the pid said is the child's own, the one status shows and the run stops.
  return fmt::format("echo {} up $$; exec {}", name, test::long_sleep());
}

TEST(Control, StatusRestartStopAndStartActOnTheRealChildren) {
  const std::string socket = test::temp_path("control.sock");
  const std::string uid = std::to_string(::geteuid());
  int step = 0;
  std::string failure;
  const auto result = run_command(
      {pipemux_exe(), "--control", socket, "--names", "web,worker", up_command("web"),
       up_command("worker")},
      {.timeout = 60s, .watch = [&](int, const std::string& out) {
         const auto web = pids_said(out, "web");
         const auto worker = pids_said(out, "worker");
         if (step == 0 && web.size() == 1 && worker.size() == 1) {
           struct stat st {};
           EXPECT_EQ(::stat(socket.c_str(), &st), 0);
           EXPECT_TRUE(S_ISSOCK(st.st_mode));
           EXPECT_EQ(st.st_mode & 0777, 0600U);
           const auto status = ctl(socket, {"status"});
           EXPECT_EQ(status.exit_code, 0) << status.err;
           const auto row = status_row(status.out, "web.0");
           EXPECT_EQ(row.at(1), std::to_string(web[0])) << status.out;
           EXPECT_NE(status.out.find("running"), std::string::npos) << status.out;
           const auto restart = ctl(socket, {"restart", "web"});
           EXPECT_EQ(restart.exit_code, 0) << restart.err;
           EXPECT_EQ(restart.out, "web.0: restarting\n");
           step = 1;
         } else if (step == 1 && web.size() == 2) {
           EXPECT_NE(web[1], web[0]);
           EXPECT_FALSE(alive(web[0])) << "the first web child still runs";
           EXPECT_TRUE(alive(web[1]));
           const auto status = ctl(socket, {"status"});
           const auto row = status_row(status.out, "web.0");
           EXPECT_EQ(row.at(1), std::to_string(web[1])) << status.out;
           EXPECT_EQ(row.at(4), "1") << status.out;  // restarts
           const auto stop = ctl(socket, {"stop", "worker.0"});
           EXPECT_EQ(stop.exit_code, 0) << stop.err;
           EXPECT_EQ(stop.out, "worker.0: stopping\n");
           step = 2;
         } else if (step == 2 && out.find("worker.0[" + std::to_string(worker[0]) +
                                          "] - * killed by SIGTERM") != std::string::npos) {
           EXPECT_FALSE(alive(worker[0]));
           const auto status = ctl(socket, {"status"});
           EXPECT_NE(status.out.find("killed by SIGTERM"), std::string::npos) << status.out;
           EXPECT_TRUE(alive(web[1])) << "stopping one child stopped another";
           const auto again = ctl(socket, {"stop", "worker"});
           EXPECT_EQ(again.out, "worker.0: ended already\n");
           const auto start = ctl(socket, {"start", "worker"});
           EXPECT_EQ(start.exit_code, 0) << start.err;
           EXPECT_EQ(start.out, "worker.0: started\n");
           step = 3;
         } else if (step == 3 && worker.size() == 2) {
           EXPECT_TRUE(alive(worker[1]));
           const auto running = ctl(socket, {"start", "worker.0"});
           EXPECT_EQ(running.out, "worker.0: running already\n");
           const auto json = ctl(socket, {"status", "--json"});
           EXPECT_EQ(json.exit_code, 0) << json.err;
           EXPECT_NE(json.out.find(fmt::format(
                         R"({{"child":"worker.0","program":"worker","instance":0,"pid":{},)"
                         R"("state":"running",)",
                         worker[1])),
                     std::string::npos)
               << json.out;
           EXPECT_EQ(test::lines_of(json.out).size(), 2U);
           const auto stop_all = ctl(socket, {"stop-all"});
           EXPECT_EQ(stop_all.out, "stopping every child\n");
           step = 4;
           return true;
         }
         return false;
       }});
  ASSERT_EQ(step, 4) << result.out << result.err;
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  const std::string& out = result.out;
  EXPECT_EQ(count_of(out, "* restart asked by pipemux ctl (uid " + uid + ")"), 1U) << out;
  EXPECT_EQ(count_of(out, "* stop asked by pipemux ctl (uid " + uid + ")"), 1U) << out;
  EXPECT_EQ(count_of(out, "* start asked by pipemux ctl (uid " + uid + ")"), 1U) << out;
  EXPECT_EQ(count_of(out, "* stop-all asked by pipemux ctl (uid " + uid + ")"), 1U) << out;
  // The summary counts both runs, and the restart that was asked for.
  const auto summaries = test::lines_of(out);
  EXPECT_TRUE(std::any_of(summaries.begin(), summaries.end(), [](const std::string& line) {
    return line.find(" web.0") != std::string::npos &&
           line.find("] - * summary: 2 messages, ") != std::string::npos &&
           line.ends_with(" bytes, killed by SIGTERM (stopped), 1 restart");
  })) << out;
  EXPECT_TRUE(test::none_left(test::long_sleep()));
  struct stat st {};
  EXPECT_NE(::stat(socket.c_str(), &st), 0) << "the socket outlived the run";
}

TEST(Control, ScaleAddsChildrenAfterTheLastAndStopsTheHighestFirst) {
  const std::string socket = test::temp_path("scale.sock");
  int step = 0;
  const std::string worker =
      "echo worker up $$ as $PIPEMUX_CHILD_NAME.$PIPEMUX_CHILD_INSTANCE index "
      "$PIPEMUX_CHILD_INDEX; exec " +
      test::long_sleep();
  const auto result = run_command(
      {pipemux_exe(), "--control", socket, "--names", "web,worker", up_command("web"), worker},
      {.timeout = 60s, .watch = [&](int, const std::string& out) {
         const auto workers = pids_said(out, "worker");
         if (step == 0 && workers.size() == 1 && !pids_said(out, "web").empty()) {
           const auto up = ctl(socket, {"scale", "worker=3"});
           EXPECT_EQ(up.exit_code, 0) << up.err;
           EXPECT_EQ(up.out, "worker.1: started; worker.2: started\n");
           step = 1;
         } else if (step == 1 && workers.size() == 3) {
           // Numbered on: instances 1 and 2, and the run's next indices (in either order:
           // the two start at once).
           const auto said_as = [&](const std::string& as) {
             return std::any_of(workers.begin() + 1, workers.end(), [&](int pid) {
               return out.find(fmt::format("worker up {} as {}", pid, as)) != std::string::npos;
             });
           };
           EXPECT_TRUE(said_as("worker.1 index 2")) << out;
           EXPECT_TRUE(said_as("worker.2 index 3")) << out;
           for (const int pid : workers) EXPECT_TRUE(alive(pid));
           const auto down = ctl(socket, {"scale", "worker=1"});
           EXPECT_EQ(down.out, "worker.1: stopping; worker.2: stopping\n");
           step = 2;
         } else if (step == 2 && count_of(out, "killed by SIGTERM after") == 2) {
           EXPECT_TRUE(alive(workers[0]));
           EXPECT_FALSE(alive(workers[1]));
           EXPECT_FALSE(alive(workers[2]));
           const auto same = ctl(socket, {"scale", "worker=1"});
           EXPECT_EQ(same.out, "worker has 1 child already\n");
           const auto back = ctl(socket, {"scale", "worker=2"});  // the stopped one again
           EXPECT_EQ(back.out, "worker.1: started\n");
           step = 3;
         } else if (step == 3 && workers.size() == 4) {
           EXPECT_NE(out.find(fmt::format("worker up {} as worker.1 index 2", workers[3])),
                     std::string::npos);
           const auto status = ctl(socket, {"status"});
           EXPECT_EQ(test::lines_of(status.out).size(), 5U) << status.out;  // header + 4
           const auto too_many = ctl(socket, {"scale", "worker=100000"});
           EXPECT_EQ(too_many.exit_code, 1);
           EXPECT_EQ(too_many.err,
                     "pipemux ctl: cannot scale worker to 100000: a run may add 1024 children in "
                     "all, and 2 were added\n");
           const auto unknown = ctl(socket, {"scale", "nope=2"});
           EXPECT_EQ(unknown.exit_code, 1);
           EXPECT_EQ(unknown.err, "pipemux ctl: no program named 'nope'\n");
           const auto no_child = ctl(socket, {"restart", "web.4"});
           EXPECT_EQ(no_child.err, "pipemux ctl: no child web.4: web has 1 (numbered from 0)\n");
           ctl(socket, {"stop-all"});
           step = 4;
           return true;
         }
         return false;
       }});
  ASSERT_EQ(step, 4) << result.out << result.err;
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(count_of(result.out, "* scale to 3 asked by pipemux ctl"), 2U) << result.out;
  EXPECT_EQ(count_of(result.out, "* scale to 1 asked by pipemux ctl"), 2U) << result.out;
  EXPECT_EQ(count_of(result.out, "* summary: "), 4U) << result.out;
  EXPECT_TRUE(test::none_left(test::long_sleep()));
}

// The issue's security rules: the default directory is ours and 0700, the socket 0600, and
// `pipemux ctl` finds the run there by itself.
TEST(Control, TheDefaultSocketIsPrivateAndFoundWithoutAPath) {
  const std::string runtime = test::temp_path("runtime");
  std::filesystem::remove_all(runtime);  // of an earlier --gtest_repeat
  ASSERT_EQ(::mkdir(runtime.c_str(), 0755), 0);
  // A killed run's socket, nobody listening on it: removed, not taken for a live run.
  ASSERT_EQ(::mkdir((runtime + "/pipemux").c_str(), 0700), 0);
  const std::string stale = runtime + "/pipemux/1.sock";
  ASSERT_EQ(run_command({"python3", "-c",
                         "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])",
                         stale})
                .exit_code,
            0);
  ASSERT_TRUE(std::filesystem::exists(stale));
  std::string found;
  const auto result = run_command(
      {"/usr/bin/env", "XDG_RUNTIME_DIR=" + runtime, pipemux_exe(), "--names", "web",
       up_command("web")},
      {.timeout = 30s, .watch = [&](int pid, const std::string& out) {
         if (pids_said(out, "web").empty()) return false;
         struct stat dir {};
         EXPECT_EQ(::stat((runtime + "/pipemux").c_str(), &dir), 0);
         EXPECT_EQ(dir.st_mode & 0777, 0700U);
         struct stat sock {};
         EXPECT_EQ(::stat(fmt::format("{}/pipemux/{}.sock", runtime, pid).c_str(), &sock), 0);
         EXPECT_EQ(sock.st_mode & 0777, 0600U);
         EXPECT_FALSE(std::filesystem::exists(stale));
         const auto status = run_command(
             {"/usr/bin/env", "XDG_RUNTIME_DIR=" + runtime, pipemux_exe(), "ctl", "status"});
         EXPECT_EQ(status.exit_code, 0) << status.err;
         found = status.out;
         run_command({"/usr/bin/env", "XDG_RUNTIME_DIR=" + runtime, pipemux_exe(), "ctl", "--pid",
                      std::to_string(pid), "stop-all"});
         return true;
       }});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(found.find("web.0 "), std::string::npos) << found;
  const auto none =
      run_command({"/usr/bin/env", "XDG_RUNTIME_DIR=" + runtime, pipemux_exe(), "ctl", "status"});
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_EQ(none.err, "pipemux ctl: no running pipemux has a control socket in " + runtime +
                          "/pipemux (give --socket PATH)\n");
}

TEST(Control, ADirectoryOthersMayEnterIsRefusedAndTheRunGoesOnWithoutASocket) {
  const std::string runtime = test::temp_path("open_runtime");
  std::filesystem::remove_all(runtime);  // of an earlier --gtest_repeat
  ASSERT_EQ(::mkdir(runtime.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((runtime + "/pipemux").c_str(), 0755), 0);
  ASSERT_EQ(::chmod((runtime + "/pipemux").c_str(), 0755), 0);
  const auto result =
      run_command({"/usr/bin/env", "XDG_RUNTIME_DIR=" + runtime, pipemux_exe(), "echo hello"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find(fmt::format("* no control socket: {}/pipemux is not a private "
                                        "directory (owner uid {}, mode 0755; it must be uid {} "
                                        "and 0700)",
                                        runtime, ::geteuid(), ::geteuid())),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("out | hello"), std::string::npos);
}

TEST(Control, AnExplicitSocketThatCannotBeMadeIsAUsageError) {
  const auto missing = run_command(
      {pipemux_exe(), "--control", test::temp_path("no/such/dir/c.sock"), "echo never"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("pipemux: error: --control: cannot listen on "), std::string::npos)
      << missing.err;
  EXPECT_EQ(test::lines_of(missing.err).size(), 1U) << missing.err;
  // A socket another run answers on is not taken over.
  const std::string socket = test::temp_path("taken.sock");
  const auto first = run_command(
      {pipemux_exe(), "--control", socket, up_command("first")},
      {.timeout = 30s, .watch = [&](int, const std::string& out) {
         if (pids_said(out, "first").empty()) return false;
         const auto second = run_command({pipemux_exe(), "--control", socket, "echo never"});
         EXPECT_EQ(second.exit_code, 2);
         EXPECT_EQ(second.err, "pipemux: error: --control: " + socket +
                                   " is in use: another run answers on it\n");
         ctl(socket, {"stop-all"});
         return true;
       }});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  // A stale one (its run was killed) is replaced.
  const auto killed = run_command({pipemux_exe(), "--control", socket, up_command("killed")},
                                  test::signal_when(SIGKILL, [](const std::string& out) {
                                    return out.find("killed up") != std::string::npos;
                                  }));
  EXPECT_EQ(killed.signal, SIGKILL);
  const auto after = run_command({pipemux_exe(), "--control", socket, "echo fresh"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out.find("out | fresh"), std::string::npos);
}

// Another user: refused by the socket's mode, and, where the mode lets it in, by SO_PEERCRED;
// the refusal is logged and the run goes on.
TEST(Control, AnotherUserIsRefusedAndTheRefusalIsLogged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to connect as another user";
  // The system's python: one under root's home (pyenv) is out of another user's reach.
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  const std::string dir = test::temp_path("shared");
  std::filesystem::remove_all(dir);  // of an earlier --gtest_repeat
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  for (std::string up = dir; up.size() > 1; up = up.substr(0, up.rfind('/')))
    ::chmod(up.c_str(), 0755);  // nobody must reach the socket through the test's directories
  const std::string socket = dir + "/c.sock";
  const std::string client =
      "import socket,sys\n"
      "s=socket.socket(socket.AF_UNIX)\n"
      "try:\n"
      "  s.connect(sys.argv[1])\n"
      "except PermissionError:\n"
      "  print('EACCES'); sys.exit(0)\n"
      "s.sendall(b'status\\n')\n"
      "print(s.recv(4096).decode(), end='')\n";
  std::string by_mode, by_credentials, still;
  const auto result = run_command(
      {pipemux_exe(), "--control", socket, "--names", "web", up_command("web")},
      {.timeout = 30s, .watch = [&](int, const std::string& out) {
         if (pids_said(out, "web").empty()) return false;
         const std::vector<std::string> as_nobody = {
             "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
             "-c",      client,          socket};
         by_mode = run_command(as_nobody).out;
         ::chmod(socket.c_str(), 0666);  // as if someone opened the mode: the peer check holds
         by_credentials = run_command(as_nobody).out;
         still = ctl(socket, {"status"}).out;
         ctl(socket, {"stop-all"});
         return true;
       }});
  EXPECT_EQ(by_mode, "EACCES\n");
  EXPECT_EQ(by_credentials, "error: permission denied: uid 65534 may not control this run\n");
  EXPECT_NE(still.find("web.0 "), std::string::npos) << still;
  EXPECT_NE(result.out.find("* control: refused a connection from uid 65534 (pid "),
            std::string::npos)
      << result.out;
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

// A client that sends garbage, too much or nothing gets one error line and is closed; the run
// and the next client are none the worse.
TEST(Control, MalformedOversizedAndSilentClientsGetOneLineAndTheRunGoesOn) {
  const std::string socket = test::temp_path("hostile.sock");
  const std::string client =
      "import socket,sys,time\n"
      "def ask(data, wait=0):\n"
      "  s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
      "  if data: s.sendall(data)\n"
      "  s.settimeout(20); got=b''\n"
      "  while True:\n"
      "    try:\n"
      "      b=s.recv(65536)\n"
      "    except ConnectionResetError:\n"
      "      break\n"
      "    if not b: break\n"
      "    got+=b\n"
      "  print(got.decode().replace('\\n', '|'))\n"
      "ask(b'bogus request\\n')\n"
      "ask(b'status \\x00\\x1b[2J\\n')\n"
      "ask(b'x'*100000)\n"
      "ask(b'')\n"
      "ask(b'status\\n')\n";
  std::string answers;
  const auto result =
      run_command({pipemux_exe(), "--control", socket, "--names", "web", up_command("web")},
                  {.timeout = 60s, .watch = [&](int, const std::string& out) {
                     if (pids_said(out, "web").empty()) return false;
                     answers = run_command({"python3", "-c", client, socket}, {.timeout = 40s}).out;
                     ctl(socket, {"stop-all"});
                     return true;
                   }});
  const auto lines = test::lines_of(answers);
  ASSERT_EQ(lines.size(), 5U) << answers;
  EXPECT_EQ(lines[0],
            "error: unknown request 'bogus' (status, outputs, restart, stop, start, scale, reopen, "
            "stop-all)|");
  EXPECT_EQ(lines[1], "error: status takes nothing, or json|");
  EXPECT_EQ(lines[2], "error: the request is too long (at most 4096 bytes)|");
  EXPECT_EQ(lines[3], "error: no request within 5 s|");
  EXPECT_TRUE(lines[4].starts_with("ok|child ")) << lines[4];
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST(Control, ReopenOpensTheLogFilesAgainAsSigusr1Does) {
  const std::string socket = test::temp_path("reopen.sock");
  const std::string log = test::temp_path("reopen.log");
  const std::string moved = log + ".1";
  std::filesystem::remove(log);  // -o appends: nothing of an earlier --gtest_repeat
  std::filesystem::remove(moved);
  const std::string program =
      "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); sleep 0.005; done";
  bool reopened = false;
  const auto result =
      run_command({pipemux_exe(), "--control", socket, "-o", log, program},
                  {.timeout = 30s, .watch = [&](int, const std::string&) {
                     if (test::read_file(log).find("line 20\n") == std::string::npos) return false;
                     EXPECT_EQ(::rename(log.c_str(), moved.c_str()), 0);
                     const auto reopen = ctl(socket, {"reopen"});
                     EXPECT_EQ(reopen.exit_code, 0) << reopen.err;
                     EXPECT_EQ(reopen.out, "log files reopened\n");
                     reopened = true;
                     return true;
                   }});
  ASSERT_TRUE(reopened);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string both = test::read_file(moved) + test::read_file(log);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(count_of(both, fmt::format("| line {}\n", i)), 1U) << i;
  EXPECT_NE(test::read_file(log).find("| line 199\n"), std::string::npos);  // the new file
  EXPECT_NE(test::read_file(log).find("* reopen asked by pipemux ctl (uid "), std::string::npos);
}

TEST(Control, CtlSaysWhatIsWrongWithItsOwnArguments) {
  const auto no_request = run_command({pipemux_exe(), "ctl"});
  EXPECT_EQ(no_request.exit_code, 2);
  EXPECT_NE(no_request.err.find("request is required"), std::string::npos) << no_request.err;
  const auto bad = run_command({pipemux_exe(), "ctl", "--socket", "/nonexistent.sock", "frob"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(
      bad.err,
      "pipemux ctl: unknown request 'frob' (status, outputs, restart, stop, start, scale, reopen, "
      "stop-all) (see pipemux ctl --help)\n");
  const auto json = run_command({pipemux_exe(), "ctl", "--json", "restart", "web"});
  EXPECT_EQ(json.exit_code, 2);
  const auto nobody =
      run_command({pipemux_exe(), "ctl", "--socket", "/nonexistent.sock", "status"});
  EXPECT_EQ(nobody.exit_code, 3);
  EXPECT_EQ(nobody.err,
            "pipemux ctl: cannot connect to /nonexistent.sock: No such file or directory\n");
}

// --group writes in the children's order and -i routes input to the children it started with:
// what would upset either is refused, in one line, and the run goes on.
TEST(Control, WhatGroupAndInputCannotFollowIsRefused) {
  const auto refusals = [](const std::string& flag) {
    const std::string socket = test::temp_path("refusing" + flag + ".sock");
    std::vector<std::string> said;
    const auto result =
        run_command({"/bin/sh", "-c", "exec \"$@\" < /dev/null", "sh", pipemux_exe(), flag,
                     "--control", socket, "--names", "web", up_command("web")},
                    {.timeout = 30s, .watch = [&](int, const std::string& out) {
                       if (pids_said(out, "web").empty()) return false;
                       said.push_back(ctl(socket, {"scale", "web=2"}).err);
                       said.push_back(ctl(socket, {"restart", "web"}).err);
                       said.push_back(ctl(socket, {"status"}).out);
                       ctl(socket, {"stop-all"});
                       return true;
                     }});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return said;
  };
  const auto grouped = refusals("--group");
  ASSERT_EQ(grouped.size(), 3U);
  const std::string not_with_group =
      "pipemux ctl: restart, stop, start and scale are not offered with --group (it writes each "
      "child's output in the children's order)\n";
  EXPECT_EQ(grouped[0], not_with_group);
  EXPECT_EQ(grouped[1], not_with_group);
  EXPECT_NE(grouped[2].find("web.0 "), std::string::npos);
  const auto with_input = refusals("-i");
  ASSERT_EQ(with_input.size(), 3U);
  EXPECT_EQ(with_input[0],
            "pipemux ctl: scale is not offered with -i (the input goes to the children it started "
            "with)\n");
  EXPECT_EQ(with_input[1], "");  // a restart is
}

// A child that takes its grace to stop: a scale back up while it stops starts it again once it
// has ended; a second stop kills it at once, as a second stop of the run does; a second
// stop-all kills what is left.
TEST(Control, SecondRequestsWhileAChildStopsDoWhatTheySay) {
  const std::string socket = test::temp_path("stubborn.sock");
  const std::string stubborn =
      "trap 'echo ignored TERM' TERM; echo stubborn up $$; while :; do sleep 0.05; done";
  int step = 0;
  std::vector<std::string> said;
  const auto result = run_command(
      {pipemux_exe(), "--control", socket, "--stop-grace", "30", "--names", "w,k", stubborn,
       "trap '' TERM; " + up_command("keep")},  // it outlives the first stop-all's signal
      {.timeout = 60s, .watch = [&](int, const std::string& out) {
         const auto ups = pids_said(out, "stubborn");
         if (step == 0 && ups.size() == 1 && !pids_said(out, "keep").empty()) {
           said.push_back(ctl(socket, {"scale", "w=0"}).out);
           said.push_back(ctl(socket, {"scale", "w=1"}).out);  // still in its grace
           step = 1;
         } else if (step == 1 && out.find("ignored TERM") != std::string::npos) {
           said.push_back(ctl(socket, {"stop", "w"}).out);  // asked again: SIGKILL
           step = 2;
         } else if (step == 2 && ups.size() == 2) {
           EXPECT_FALSE(alive(ups[0]));
           said.push_back(ctl(socket, {"stop", "w"}).out);
           said.push_back(ctl(socket, {"stop", "w"}).out);
           step = 3;
         } else if (step == 3 && count_of(out, "* killed by SIGKILL after") >= 2) {
           said.push_back(ctl(socket, {"stop-all"}).out);
           said.push_back(ctl(socket, {"stop-all"}).out);
           step = 4;
           return true;
         }
         return false;
       }});
  ASSERT_EQ(step, 4) << result.out << result.err;
  EXPECT_EQ(said, (std::vector<std::string>{"w.0: stopping\n",
                                            "w.0: stopping; starts again once it has ended\n",
                                            "w.0: killed\n", "w.0: stopping\n", "w.0: killed\n",
                                            "stopping every child\n", "stopping every child\n"}));
  EXPECT_EQ(count_of(result.out,
                     "asked to stop a second time before its grace was over: sent "
                     "SIGKILL"),
            3U)  // w.0 twice, and k.0 at the second stop-all
      << result.out;
  EXPECT_NE(result.out.find("stop-all asked by pipemux ctl (uid " + std::to_string(::geteuid()) +
                            ") again: killing the children"),
            std::string::npos)
      << result.out;
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_TRUE(test::none_left(test::long_sleep()));
}

// A restart asked for while one is pending comes at once, and is the same restart: counted once.
TEST(Control, ARestartAskedWhileOneIsPendingIsCountedOnce) {
  const std::string socket = test::temp_path("pending.sock");
  const std::string config = test::temp_path("pending.toml");
  std::ofstream(config) << "restart = \"always\"\nrestart_delay = 30\nrestart_max_delay = 30\n"
                           "[[program]]\nname = \"f\"\ncommand = \"echo f up $$; exit 1\"\n"
                           "[[program]]\nname = \"keep\"\ncommand = \"exec "
                        << test::long_sleep() << "\"\n";
  int step = 0;
  std::string pending, after;
  const auto result =
      run_command({pipemux_exe(), "-c", config, "--control", socket},
                  {.timeout = 60s, .watch = [&](int, const std::string& out) {
                     if (step == 0 && out.find("* restarting: ") != std::string::npos) {
                       pending = ctl(socket, {"status"}).out;
                       EXPECT_EQ(ctl(socket, {"restart", "f"}).out, "f.0: started\n");
                       step = 1;
                     } else if (step == 1 && pids_said(out, "f").size() == 2 &&
                                count_of(out, "* restarting: ") == 2) {
                       after = ctl(socket, {"status"}).out;
                       ctl(socket, {"stop-all"});
                       step = 2;
                       return true;
                     }
                     return false;
                   }});
  ASSERT_EQ(step, 2) << result.out;
  const auto waiting = status_row(pending, "f.0");
  ASSERT_FALSE(waiting.empty()) << pending;
  EXPECT_EQ(waiting.at(1), "-") << pending;  // no pid while it waits to restart
  EXPECT_EQ(waiting.at(4), "1") << pending;
  EXPECT_NE(pending.find("restarting in "), std::string::npos) << pending;
  const auto row = status_row(after, "f.0");
  ASSERT_FALSE(row.empty()) << after;
  EXPECT_EQ(row.at(4), "2") << after;  // two runs after the first, not three
}

}  // namespace
}  // namespace pipemux
