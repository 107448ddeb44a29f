// A syslog sink's disk spool (--syslog-spool, `spool = "DIR"`) with a real rsyslogd over RELP:
// a collector away for a whole run gets that run's lines from the next one, before its own; one
// that stops acknowledging fills the spool, then holds the children, and loses nothing.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mute_relp_server.hpp"
#include "relp_delivery.hpp"
#include "rsyslog_server.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::check;
using test::cpu_ticks;
using test::delivery;
using test::has_summaries;
using test::imrelp_installed;
using test::pipemux_exe;
using test::read_file;
using test::resident_kib;
using test::rsyslog;
using test::run_command;
using test::spam;

std::string relp_address(const rsyslog& server) {
  return "relp://127.0.0.1:" + std::to_string(server.port());
}

std::string spool_file(const std::string& dir, const rsyslog& server) {
  return dir + "/relp-127.0.0.1-" + std::to_string(server.port()) + ".spool";
}

// Where the first line of `app` is in rsyslog's file, and the last; npos if none.
std::pair<std::size_t, std::size_t> lines_of(const std::string& text, const std::string& app) {
  std::size_t first = std::string::npos, last = std::string::npos, number = 0;
  for (std::size_t at = 0; at < text.size(); ++number) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, app.size() + 1, app + " ") == 0) {
      if (first == std::string::npos) first = number;
      last = number;
    }
    at = end + 1;
  }
  return {first, last};
}

// The report a run ends with (stderr): "pipemux: delivered: syslog relp://...: N messages, N
// acknowledged, N sent again, N dropped, N sessions; spool FILE: N messages (N came from an
// earlier run)".
struct report {
  std::size_t messages = 0, acknowledged = 0, resent = 0, dropped = 0, spooled = 0;
  std::size_t from_earlier_run = 0;
};

report report_in(const std::string& err) {
  const std::regex line(
      R"(pipemux: delivered: syslog relp://\S+: (\d+) messages, (\d+) acknowledged, )"
      R"((?:up to )?(\d+) sent again, (\d+) dropped, \d+ sessions?; spool \S+: (\d+) messages)"
      R"((?: \((\d+) came from an earlier run\))?\n)");
  std::smatch m;
  report said;
  EXPECT_TRUE(std::regex_search(err, m, line)) << err;
  if (m.empty()) return said;
  said.messages = std::stoul(m[1]);
  said.acknowledged = std::stoul(m[2]);
  said.resent = std::stoul(m[3]);
  said.dropped = std::stoul(m[4]);
  said.spooled = std::stoul(m[5]);
  if (m[6].matched) said.from_earlier_run = std::stoul(m[6]);
  return said;
}

TEST(Spool, ACollectorDownForAWholeRunGetsItsLinesFromTheNextRunBeforeItsOwn) {
  if (!imrelp_installed()) GTEST_SKIP() << "rsyslog-relp is not installed (scripts/setup does)";
  rsyslog server("spool-next", rsyslog::listening::relp);
  const std::string spool = server.dir() + "/spool";
  constexpr int children = 2, count = 20000;
  // The first run: nobody listens. It is not held (the spool takes the lines) and ends at once.
  const auto first =
      run_command({pipemux_exe(), "--syslog-to", relp_address(server), "--syslog-spool", spool,
                   "--names", "first", "-n", std::to_string(children), spam(count)});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_FALSE(first.timed_out);
  EXPECT_NE(first.err.find("cannot connect"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("messages not delivered stay in " + spool_file(spool, server)),
            std::string::npos)
      << first.err;
  EXPECT_EQ(first.err.find("could not be sent"), std::string::npos) << first.err;
  // The report: every message spooled, none acknowledged, none dropped.
  const report said_first = report_in(first.err);
  EXPECT_GT(said_first.messages, std::size_t{children} * count);
  EXPECT_EQ(said_first.acknowledged, 0U);
  EXPECT_EQ(said_first.spooled, said_first.messages) << first.err;
  EXPECT_EQ(said_first.dropped, 0U);
  ASSERT_GT(std::filesystem::file_size(spool_file(spool, server)),
            std::uintmax_t{children} * count * 60);

  ASSERT_TRUE(server.start()) << server.startup_log();
  const auto second = run_command({pipemux_exe(), "--syslog-to", relp_address(server),
                                   "--syslog-spool", spool, "--names", "second", spam(1000)});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("messages an earlier run left in " + spool_file(spool, server)),
            std::string::npos)
      << second.err;
  EXPECT_EQ(second.err.find("not delivered"), std::string::npos) << second.err;
  // All of the first run's and of its own acknowledged, the spool empty.
  const report said_second = report_in(second.err);
  EXPECT_EQ(said_second.from_earlier_run, said_first.spooled) << second.err;
  EXPECT_EQ(said_second.acknowledged, said_second.messages + said_first.spooled) << second.err;
  EXPECT_EQ(said_second.spooled, 0U) << second.err;
  EXPECT_EQ(said_second.dropped, 0U) << second.err;

  const std::string text = server.received_until(
      [](const std::string& got) { return has_summaries(got, children + 1); }, 60s);
  ASSERT_TRUE(has_summaries(text, children + 1));
  const delivery from_first = check(server, "first", children, count);
  EXPECT_EQ(from_first.missing, 0U) << from_first.text;
  EXPECT_EQ(from_first.twice, 0U) << from_first.text;
  EXPECT_TRUE(from_first.ordered) << from_first.text;
  EXPECT_EQ(from_first.malformed, 0U) << from_first.text;
  const delivery from_second = check(server, "second", 1, 1000);
  EXPECT_EQ(from_second.missing, 0U) << from_second.text;
  const auto [first_begins, first_ends] = lines_of(text, "first");
  const auto [second_begins, second_ends] = lines_of(text, "second");
  EXPECT_LT(first_ends, second_begins) << "the earlier run's lines come first";
  // Everything was acknowledged: the spool is empty (its header alone).
  EXPECT_EQ(std::filesystem::file_size(spool_file(spool, server)), 32U);
}

// A healthy server over plain TCP, spooled: every line goes through the spool and arrives once,
// the children are never held for want of an acknowledgement looked at (a hostile test found
// the run stalled after 7,475 lines: TCP's acknowledgements were asked only after a write), and
// the spool is empty at the end.
TEST(Spool, OverTcpAHealthyServerGetsEveryLineOnceAndTheSpoolEndsEmpty) {
  if (!test::rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  rsyslog server("spool-tcp");
  ASSERT_TRUE(server.start()) << server.startup_log();
  const std::string& dir = server.dir();
  const std::string address = "tcp://127.0.0.1:" + std::to_string(server.port());
  std::ofstream(dir + "/pipemux.toml")
      << "[[log.sink]]\ntype = \"syslog\"\naddress = \"" << address << "\"\nspool = \"" << dir
      << "/spool\"\nspool_max = \"1M\"\n";
  constexpr int children = 4, count = 50000;
  test::command_options options;
  options.timeout = 120s;
  const auto result = run_command({pipemux_exe(), "-c", dir + "/pipemux.toml", "--names", "tcp",
                                   "-n", std::to_string(children), spam(count)},
                                  options);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string text = server.received_until(
      [](const std::string& got) { return has_summaries(got, children); }, 60s);
  const test::text_delivery got = test::check_text(text, "tcp", children, count);
  EXPECT_EQ(got.missing, 0U);
  EXPECT_EQ(got.twice, 0U);
  EXPECT_TRUE(got.ordered);
  EXPECT_EQ(result.err.find("not delivered"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(" 0 dropped, 1 connection; spool " + dir + "/spool/tcp-127.0.0.1-" +
                            std::to_string(server.port()) + ".spool: 0 messages\n"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(std::filesystem::file_size(dir + "/spool/tcp-127.0.0.1-" +
                                       std::to_string(server.port()) + ".spool"),
            32U);
}

// Long lines over RELP and a small spool: librelp's last window (128 messages of 8 KiB pieces,
// over 1 MiB) is settled only when more come or the session closes; the spool must not hold
// the children for it (a hostile test found this run asleep for good after 150 pieces).
TEST(Spool, LongLinesOverRelpWithASmallSpoolAreNeverHeldForTheLastWindow) {
  if (!imrelp_installed()) GTEST_SKIP() << "rsyslog-relp is not installed (scripts/setup does)";
  rsyslog relp_server("spool-long-relp", rsyslog::listening::relp);
  ASSERT_TRUE(relp_server.start()) << relp_server.startup_log();
  const std::string& dir = relp_server.dir();
  std::ofstream(dir + "/pipemux.toml")
      << "[[log.sink]]\ntype = \"syslog\"\naddress = \"" << relp_address(relp_server)
      << "\"\nspool = \"" << dir << "/spool\"\nspool_max = \"1M\"\n";
  test::command_options options;
  options.timeout = 60s;
  const auto result =
      run_command({pipemux_exe(), "-c", dir + "/pipemux.toml", "--names", "long",
                   pipemux_exe() + " spam --count 200 --interval 0 --sequence --payload 100000"},
                  options);
  EXPECT_FALSE(result.timed_out) << result.err;
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err.find("not delivered"), std::string::npos) << result.err;
  // 200 lines of 100 KB, each in 13 pieces of at most 8096 bytes: the last piece of each.
  const std::string text =
      relp_server.received_until([](const std::string& got) { return has_summaries(got, 1); }, 30s);
  std::size_t whole = 0;
  for (std::size_t at = text.find(" child=0 seq="); at != std::string::npos;
       at = text.find(" child=0 seq=", at + 1))
    ++whole;
  EXPECT_GE(whole, 200U);
}

// rsyslogd frozen (SIGSTOP) once the session is up: nothing is acknowledged any more. The spool
// (1 MiB here) fills, then the child is held, in bounded memory; one SIGTERM ends the run, which
// says what stays spooled; the next run, the collector back, delivers every line the first one
// read, in order.
TEST(Spool, ACollectorThatStopsAcknowledgingFillsTheSpoolThenHoldsTheChildAndLosesNothing) {
  if (!imrelp_installed()) GTEST_SKIP() << "rsyslog-relp is not installed (scripts/setup does)";
  rsyslog server("spool-held", rsyslog::listening::relp);
  ASSERT_TRUE(server.start()) << server.startup_log();
  const std::string& dir = server.dir();
  const std::string spool = dir + "/spool";
  std::ofstream(dir + "/pipemux.toml")
      << "[[log.sink]]\ntype = \"syslog\"\naddress = \"" << relp_address(server) << "\"\nspool = \""
      << spool << "\"\nspool_max = \"1M\"\n";
  long child_cpu_held = -1, memory = -1, memory_later = -1;
  std::uintmax_t spooled_while_held = 0;
  std::chrono::steady_clock::time_point asked;
  test::command_options options;
  options.timeout = 90s;
  options.watch = [&](int pid, const std::string&) {
    server.received_until(
        [](const std::string& text) { return text.find(" start [") != text.npos; });
    server.freeze();
    int child = -1;
    test::eventually([&] { return std::filesystem::exists(dir + "/child.pid"); });
    std::ifstream(dir + "/child.pid") >> child;
    // Held: no CPU of the child's in a second (it would fill a pipe in microseconds).
    test::eventually(
        [&] {
          const long before = cpu_ticks(child);
          std::this_thread::sleep_for(1s);
          child_cpu_held = cpu_ticks(child) - before;
          return child_cpu_held == 0;
        },
        40s);
    spooled_while_held = std::filesystem::file_size(spool_file(spool, server));
    memory = resident_kib(pid);
    std::this_thread::sleep_for(2s);  // the time over which it must not grow
    memory_later = resident_kib(pid);
    asked = std::chrono::steady_clock::now();
    ::kill(pid, SIGTERM);
    return true;
  };
  const std::string child = "sh -c 'echo $$ > " + dir + "/child.pid; exec " + spam(100000000) + "'";
  const auto result = run_command(
      {pipemux_exe(), "-c", dir + "/pipemux.toml", "--names", "held", "--stop-grace", "1", child},
      options);
  const auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(child_cpu_held, 0);
  // Full: 1 MiB and what the reads under way add; then the children wait.
  EXPECT_GT(spooled_while_held, 900U << 10);
  EXPECT_LT(spooled_while_held, 3U << 20);
  EXPECT_GT(memory, 0);
  EXPECT_LT(memory_later - memory, 4 * 1024) << "KiB more resident 2 s later";
  EXPECT_LT(memory, 256 * 1024) << "KiB resident while held";
  // The stop grace (1 s), and the outputs' wait after it: a bound, not a measure of speed.
  EXPECT_LT(took, 20s);
  EXPECT_NE(result.err.find("messages not delivered stay in " + spool_file(spool, server)),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("could not be sent"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("may have been lost"), std::string::npos) << result.err;
  const report said = report_in(result.err);
  EXPECT_GT(said.spooled, 0U);
  EXPECT_EQ(said.acknowledged + said.spooled, said.messages) << result.err;

  // The collector back (what the frozen one had unacknowledged is lost with it), the next run.
  server.stop(SIGKILL);
  ASSERT_TRUE(server.start()) << server.startup_log();
  const auto next =
      run_command({pipemux_exe(), "-c", dir + "/pipemux.toml", "--names", "next", "echo done"});
  EXPECT_EQ(next.exit_code, 0) << next.err;
  const std::string text = server.received_until(
      [](const std::string& got) {
        return got.find("next ") != std::string::npos && has_summaries(got, 2);
      },
      60s);
  // Every line of the first run up to the last one it read, each at least once, in order.
  const long highest = check(server, "held", 1, 1).highest;
  ASSERT_GT(highest, 1000);
  const delivery got = check(server, "held", 1, static_cast<int>(highest) + 1);
  std::cout << got.text << "pipemux said:\n" << result.err << next.err;
  EXPECT_EQ(got.missing, 0U) << got.text;
  EXPECT_TRUE(got.ordered) << got.text;
  EXPECT_EQ(got.malformed, 0U) << got.text;
  const auto [held_begins, held_ends] = lines_of(text, "held");
  const auto [next_begins, next_ends] = lines_of(text, "next");
  EXPECT_LT(held_ends, next_begins);
}

// While the run goes on: SIGUSR2 writes the report into the log, and `pipemux ctl outputs`
// (--json) answers it, with the same counts.
TEST(Spool, SigusrTwoAndCtlOutputsSayWhatEachSyslogOutputDidSoFar) {
  const std::string dir = test::temp_path("spool-report");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string socket = dir + "/control.sock", log = dir + "/run.log";
  std::string json, text;
  test::command_options options;
  options.watch = [&](int pid, const std::string&) {
    // The child's 500 lines are logged (nobody listens at port 9: they are spooled).
    if (!test::eventually([&] { return read_file(log).find("out | 500\n") != std::string::npos; }))
      return true;
    ::kill(pid, SIGUSR2);
    test::eventually([&] { return read_file(log).find("received SIGUSR2") != std::string::npos; });
    json = run_command({pipemux_exe(), "ctl", "--socket", socket, "outputs", "--json"}).out;
    text = run_command({pipemux_exe(), "ctl", "--socket", socket, "outputs"}).out;
    std::ofstream(dir + "/go").flush();
    return true;
  };
  const auto result =
      run_command({pipemux_exe(), "--control", socket, "-o", log, "--syslog-to",
                   "relp://127.0.0.1:9", "--syslog-spool", dir + "/spool", "--names", "counted",
                   "seq 1 500; while [ ! -e " + dir + "/go ]; do sleep 0.05; done"},
                  options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string spool = dir + "/spool/relp-127.0.0.1-9.spool";
  // At least the start report and the 500 lines, each of them spooled, none acknowledged.
  const std::regex in_log(
      R"(received SIGUSR2: syslog relp://127\.0\.0\.1:9: (\d+) messages, 0 acknowledged, )"
      R"(0 sent again, 0 dropped, 0 sessions; spool )" +
      spool + R"(: (\d+) messages)");
  std::smatch m;
  const std::string logged = read_file(log);
  ASSERT_TRUE(std::regex_search(logged, m, in_log)) << logged;
  EXPECT_GE(std::stoul(m[1]), 501U);
  EXPECT_EQ(m[1].str(), m[2].str());
  // The ctl answers one object (one line) per syslog or journal output.
  const std::regex object(
      R"(\{"output":"syslog relp://127\.0\.0\.1:9","transport":"relp","messages":(\d+),)"
      R"("settled":0,"spooled":(\d+),"resent":0,"dropped":0,"possibly_lost":0,"connections":0,)"
      R"("spool":")" +
      spool + R"(","from_earlier_run":0\}\n)");
  ASSERT_TRUE(std::regex_match(json, m, object)) << json;
  EXPECT_EQ(m[1].str(), m[2].str());
  EXPECT_GE(std::stoul(m[1]), 501U);
  EXPECT_EQ(text.rfind("syslog relp://127.0.0.1:9: ", 0), 0U) << text;
  EXPECT_NE(text.find(" 0 acknowledged, 0 sent again, 0 dropped, 0 sessions; spool " + spool),
            std::string::npos)
      << text;
}

// A spool that cannot be used stops the run before it starts, with one line and exit code 2: not
// written by pipemux (never overwritten), held by another pipemux, in a directory not there.
TEST(Spool, ASpoolThatCannotBeUsedIsOneLineAndExitCodeTwoAndNothingRuns) {
  const std::string dir = test::temp_path("spool-bad");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/relp-127.0.0.1-2514.spool";
  const std::vector<std::string> run = {pipemux_exe(),    "--syslog-to", "relp://127.0.0.1",
                                        "--syslog-spool", dir,           "echo ran"};
  std::ofstream(file) << "somebody's notes\n";
  const auto not_ours = run_command(run);
  EXPECT_EQ(not_ours.exit_code, 2);
  EXPECT_EQ(not_ours.err,
            "pipemux: error: --syslog: syslog relp://127.0.0.1:2514: spool '" + file +
                "' is not a pipemux spool file (it does not start with \"PMXSPL01\"): "
                "give the spool a directory of its own\n");
  EXPECT_EQ(read_file(file), "somebody's notes\n");
  EXPECT_EQ(not_ours.out.find("ran"), std::string::npos);

  std::filesystem::remove(file);
  std::vector<std::string> locked = {"flock", file};  // flock(1) holds it as another run would
  locked.insert(locked.end(), run.begin(), run.end());
  const auto in_use = run_command(locked);
  EXPECT_EQ(in_use.exit_code, 2);
  EXPECT_NE(in_use.err.find("spool '" + file + "' is in use by another pipemux\n"),
            std::string::npos)
      << in_use.err;
  EXPECT_EQ(std::count(in_use.err.begin(), in_use.err.end(), '\n'), 1) << in_use.err;

  const auto nowhere = run_command({pipemux_exe(), "--syslog-to", "relp://127.0.0.1",
                                    "--syslog-spool", dir + "/not/there", "echo ran"});
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_NE(nowhere.err.find("cannot make the spool directory '" + dir +
                             "/not/there': No such file or directory"),
            std::string::npos)
      << nowhere.err;
}

}  // namespace
}  // namespace pipemux
