// --syslog against a real rsyslogd, started by the test with its own config in a temp
// directory, listening on a unix socket and on loopback UDP and TCP, writing what it parsed
// (%app-name% %procid% %syslogseverity-text% %msgid% %structured-data% %msg%) to a file.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "rsyslog_server.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::pipemux_exe;
using test::read_file;
using test::rsyslog;
using test::rsyslogd_installed;
using test::run_command;

// argv: LOG APP CHILDREN COUNT: for APP's messages in rsyslog's file, per child index, how many
// spam lines and whether each seq is there once and in order, with the fields as expected.
constexpr const char* checker = R"PY(
import re, sys
log, app, children, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
row = re.compile(r'^(\S+) (\d+) (\w+) (\w+) \[pipemux@32473 index="(\d+)" instance="(\d+)"'
                 r'(?: stream="(\w+)")?\] (.*)$')
seqs, kinds, pids, bad = {}, set(), {}, 0
for line in open(log, encoding="utf-8", errors="replace").read().splitlines():
    if not line.startswith(app + " "):
        continue
    m = row.match(line)
    if not m:
        bad += 1
        continue
    name, pid, severity, msgid, index, instance, stream, msg = m.groups()
    kinds.add(msgid)
    pids.setdefault(index, set()).add(pid)
    if msgid == "line":
        s = re.fullmatch(r"Spam \d child=" + index + r" seq=(\d+)", msg)
        if not s or severity != "info" or stream != "out" or instance != index:
            bad += 1
            continue
        seqs.setdefault(index, []).append(int(s.group(1)))
for index in range(children):
    got = seqs.get(str(index), [])
    print(f"child {index}: {len(got)} lines, exact {got == list(range(count))}, "
          f"one pid {len(pids.get(str(index), ())) == 1}")
print("kinds", ",".join(sorted(kinds)), "malformed", bad)
)PY";

std::string verdict(const std::string& log, const std::string& app, int children, int count) {
  const auto result = run_command(
      {"python3", "-c", checker, log, app, std::to_string(children), std::to_string(count)});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out;
}

std::string all_arrived(int children, int count) {
  std::string text;
  for (int i = 0; i < children; ++i)
    text += "child " + std::to_string(i) + ": " + std::to_string(count) +
            " lines, exact True, one pid True\n";
  return text + "kinds exit,line,start,summary malformed 0\n";
}

// Each child's summary is the last message about it: once `children` summaries are written, so
// is everything before them.
std::function<bool(const std::string&)> summaries(std::size_t children) {
  return [children](const std::string& text) {
    std::size_t found = 0;
    for (auto at = text.find(" summary ["); at != std::string::npos;
         at = text.find(" summary [", at + 1))
      ++found;
    return found >= children;
  };
}

std::string spam(int count, const std::string& interval) {
  return "exec " + pipemux_exe() + " spam --count " + std::to_string(count) + " --interval " +
         interval + " --sequence";
}

TEST(Syslog, EveryLineArrivesOverTheLocalSocketUdpAndTcpParsedByRsyslog) {
  if (!rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  rsyslog server("rsyslog");
  ASSERT_TRUE(server.start()) << server.startup_log();
  const std::string& dir = server.dir();
  const int port = server.port();
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(port);
  const std::string udp = "udp://127.0.0.1:" + std::to_string(port);
  for (const auto& [app, address] : {std::pair{"viaunix", server.socket()},
                                     std::pair{"viaudp", udp}, std::pair{"viatcp", tcp}}) {
    const auto result = run_command(
        {pipemux_exe(), "--syslog-to", address, "-n", "2", "--names", app, spam(300, "0")});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "") << "--syslog alone: nothing on stdout";
    EXPECT_EQ(result.err, test::clean_report(address, 2 * (300 + 3)));
  }
  // An err line is severity err, with the facility asked for.
  const auto errs = run_command({pipemux_exe(), "--syslog-to", tcp, "--syslog-facility", "local3",
                                 "--names", "errs", "echo oops >&2"});
  EXPECT_EQ(errs.exit_code, 0) << errs.err;
  const std::string received = server.received(std::size_t{3} * (600 + 6) + 4);
  std::ofstream(dir + "/received.log") << received;
  for (const char* app : {"viaunix", "viaudp", "viatcp"})
    EXPECT_EQ(verdict(dir + "/received.log", app, 2, 300), all_arrived(2, 300))
        << app << "\n"
        << received.substr(0, 2000);
  EXPECT_NE(received.find(" err line [pipemux@32473 index=\"0\" instance=\"0\" stream=\"err\"] "
                          "oops\n"),
            std::string::npos)
      << received;
}

TEST(Syslog, OverTcpAServerThatComesLateGetsEveryLineOnce) {
  if (!rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  rsyslog server("rsyslog-late");
  const std::string& dir = server.dir();
  const int port = server.port();
  ASSERT_NE(port, 0);
  // The children write for about half a second and exit; the server starts once they have,
  // while pipemux waits (up to 5 s) to hand over what it buffered: only its retry timer,
  // backing off, reconnects then. (Started at a fixed 1.5 s, it could come after the last
  // retry before the 5 s were up, when a loaded machine ran the children slowly.)
  bool children_seen = false, started = false;
  test::command_options options;
  options.watch = [&](int pid, const std::string&) {
    // pipemux's children: its guard, and the two spam children while they run.
    const std::size_t children = test::children_of(pid).size();
    children_seen = children_seen || children >= 2;
    if (!children_seen || children > 1) return false;
    started = server.start();
    return true;
  };
  const auto result =
      run_command({pipemux_exe(), "--syslog-to", "tcp://127.0.0.1:" + std::to_string(port), "-n",
                   "2", "--names", "late", spam(400, "0.001")},
                  options);
  ASSERT_TRUE(started) << read_file(dir + "/rsyslogd.out");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, test::clean_report("tcp://127.0.0.1:" + std::to_string(port), 2 * 403))
      << "nothing dropped";
  const std::string received = server.received(std::size_t{2} * (400 + 3));
  std::ofstream(dir + "/received.log") << received;
  EXPECT_EQ(verdict(dir + "/received.log", "late", 2, 400), all_arrived(2, 400));
}

TEST(Syslog, AnAddressThatIsNoneIsAUsageError) {
  const auto result = run_command({pipemux_exe(), "--syslog-to", "http://x", "true"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("not a syslog address: \"http://x\": expected \"local\""),
            std::string::npos)
      << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1);
}

TEST(Syslog, AMaximumMessageSizeThatCannotBeSentIsAUsageError) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--syslog-to", "udp://127.0.0.1", "--syslog-max-message", "70000"},
       "pipemux: error: --syslog-max-message: between 480 and 65507 bytes in one datagram "
       "(tcp:// takes up to 16 MiB) (got 70000)\n"},
      {{"--syslog-max-message", "100"},
       "pipemux: error: --syslog-max-message: between 480 and 65507 bytes in one datagram "
       "(tcp:// takes up to 16 MiB) (got 100)\n"},
      {{"--syslog-to", "tcp://127.0.0.1", "--syslog-max-message", "16777217"},
       "pipemux: error: --syslog-max-message: between 480 and 16777216 bytes over TCP (got "
       "16777217)\n"},
  };
  for (const auto& [flags, error] : cases) {
    std::vector<std::string> argv = {pipemux_exe()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.emplace_back("true");
    const auto result = run_command(argv);
    EXPECT_EQ(result.exit_code, 2) << error;
    EXPECT_EQ(result.err, error);
  }
  const auto word = run_command({pipemux_exe(), "--syslog-max-message", "8K", "true"});
  EXPECT_EQ(word.exit_code, 2);
  EXPECT_EQ(std::count(word.err.begin(), word.err.end(), '\n'), 1) << word.err;
}

// Addresses that were once accepted and then cost 5 s at the end of each run (the sender
// waiting for a server it could never reach): refused at once, saying what is wrong.
TEST(Syslog, AnAddressThatCanNeverBeReachedIsAUsageErrorNamingTheProblem) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "not a syslog address: \"\": empty (\"local\" is /dev/log)"},
      {"tcp://user@host",
       "not a syslog address: \"tcp://user@host\": '@' in the host \"user@host\" (a host "
       "name has only letters, digits, '-', '_' and '.')"},
      {"tcp://256.1.1.1",
       "not a syslog address: \"tcp://256.1.1.1\": \"256.1.1.1\" is no IPv4 address (four "
       "numbers from 0 to 255)"},
      {"udp://log\nhost",
       "not a syslog address: \"udp://log\\nhost\": '\\n' in the host \"log\\nhost\" (a host "
       "name has only letters, digits, '-', '_' and '.')"},
  };
  for (const auto& [address, why] : cases) {
    const auto started = std::chrono::steady_clock::now();
    const auto result = run_command({pipemux_exe(), "--syslog-to", address, "true"});
    EXPECT_EQ(result.exit_code, 2) << address;
    EXPECT_EQ(result.err, "pipemux: error: --syslog-to: " + why + " (see pipemux --help)\n");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "refused, not tried";
  }
}

// argv: LOG APP CHILDREN COUNT: for APP's lines in rsyslog's file, per child index, whether
// its messages are exactly "1" ... "COUNT", each once, in order (seq's lines).
constexpr const char* numbered_checker = R"PY(
import collections, re, sys
log, app, children, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
row = re.compile(r'^(\S+) \d+ \w+ (\w+) \[pipemux@32473 index="(\d+)"[^\]]*\] (.*)$')
got = collections.defaultdict(list)
for line in open(log, encoding="utf-8", errors="replace"):
    m = row.match(line.rstrip("\n"))
    if m and m.group(1) == app and m.group(2) == "line":
        got[int(m.group(3))].append(m.group(4))
expected = [str(n) for n in range(1, count + 1)]
for index in range(children):
    print(f"child {index}: {len(got[index])} lines, each once in order {got[index] == expected}")
)PY";

// One 64 KiB read of short lines becomes over 1 MB of RFC 5424 frames: with 8 chatty
// children the queue once passed its 8 MiB cap before the pause took effect, and lines were
// dropped with a server that read all it was sent (390,434 of 8 x 100,000; 73,086 of the
// 8 x 30,000 here, enough to show it and a quarter of the time).
TEST(Syslog, OverTcpAServerThatReadsGetsEveryShortLineOfEightChattyChildrenExactlyOnce) {
  if (!rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  rsyslog server("rsyslog-chatty");
  ASSERT_TRUE(server.start()) << server.startup_log();
  const std::string& dir = server.dir();
  const int port = server.port();
  constexpr int children = 8, count = 30000;
  const auto result =
      run_command({pipemux_exe(), "--syslog-to", "tcp://127.0.0.1:" + std::to_string(port), "-n",
                   std::to_string(children), "--names", "short", "seq " + std::to_string(count)});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string clean =
      test::clean_report("tcp://127.0.0.1:" + std::to_string(port), children * (count + 3));
  EXPECT_EQ(result.err, clean) << "nothing dropped";
  const std::string received =
      server.received_until(summaries(children), result.err == clean ? 120s : 10s);
  std::ofstream(dir + "/received.log") << received;
  const auto checked = run_command({"python3", "-c", numbered_checker, dir + "/received.log",
                                    "short", std::to_string(children), std::to_string(count)});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  std::string expected;
  for (int i = 0; i < children; ++i)
    expected += "child " + std::to_string(i) + ": " + std::to_string(count) +
                " lines, each once in order True\n";
  EXPECT_EQ(checked.out, expected);
}

// argv: LOG APP COUNT: APP's spam lines (seq 0 ... COUNT-1) in rsyslog's file: how many are
// missing, in how many runs of consecutive ones (each run's length), how many arrived twice.
constexpr const char* missing_checker = R"PY(
import re, sys
log, app, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {}
for line in open(log, encoding="utf-8", errors="replace"):
    m = re.match(r'^(\S+) \d+ \w+ line \[[^\]]*\] Spam \d child=0 seq=(\d+)$', line.rstrip("\n"))
    if m and m.group(1) == app:
        seen[int(m.group(2))] = seen.get(int(m.group(2)), 0) + 1
runs, run = [], 0
for n in range(count):
    if n in seen:
        if run: runs.append(run)
        run = 0
    else:
        run += 1
if run: runs.append(run)
print(sum(runs), len(runs), max(runs, default=0), sum(c - 1 for c in seen.values()))
)PY";

// What pipemux said on stderr about a TCP server that went away: the possible loss of each
// connection it lost, the total of those, and the messages it dropped.
struct loss_said {
  std::vector<std::size_t> per_reset;
  std::size_t possibly_lost = 0, dropped = 0;
};

loss_said loss_in(const std::string& err) {
  loss_said said;
  const std::regex reset(R"(: up to (\d+) messages the server acknowledged may be lost)");
  for (std::sregex_iterator it(err.begin(), err.end(), reset), end; it != end; ++it)
    said.per_reset.push_back(std::stoul((*it)[1]));
  std::smatch m;
  if (std::regex_search(err, m, std::regex(R"(pipemux: (\d+) log messages may have been lost)")))
    said.possibly_lost = std::stoul(m[1]);
  if (std::regex_search(err, m, std::regex(R"(pipemux: (\d+) log messages could not be sent)")))
    said.dropped = std::stoul(m[1]);
  return said;
}

// rsyslogd goes away mid-stream (`sig`) once it has written 20,000 of 100,000 lines, and is
// started again on the same port. Plain TCP has no acknowledgement from the server's process:
// pipemux sends again what the server's TCP had not acknowledged, and counts as possibly lost
// what it acknowledged within twice the largest window it can advertise. No line may be missing
// beyond that count, and a run that counted any exits 5.
void server_goes_away_mid_stream(int sig, const std::string& app) {
  rsyslog server("rsyslog-" + app);
  ASSERT_TRUE(server.start()) << server.startup_log();
  const std::string& dir = server.dir();
  const int port = server.port();
  constexpr int count = 100000;
  bool restarted = false;
  test::command_options options;
  options.watch = [&](int, const std::string&) {
    const std::string text = read_file(dir + "/out.log");
    if (std::count(text.begin(), text.end(), '\n') < 20000) return false;
    server.stop(sig);
    restarted = server.start();
    std::ofstream(dir + "/restarted").flush();
    return true;
  };
  // The child stays until the server is back (10 s at most), so that the server goes away
  // mid-stream: a pipemux that had sent everything and closed before the kill cannot know what
  // rsyslog's queue lost then (plain TCP has no acknowledgement from the server's process), and
  // since pipemux got faster it sometimes had (1 CI run in 3: 14,469 lines, nothing said).
  const std::string child = spam(count, "0").substr(std::string("exec ").size()) +
                            "; for i in $(seq 200); do [ -e '" + dir +
                            "/restarted' ] && break; sleep 0.05; done";
  const auto result =
      run_command({pipemux_exe(), "--syslog-to", "tcp://127.0.0.1:" + std::to_string(port),
                   "--names", app, child},
                  options);
  ASSERT_TRUE(restarted) << read_file(dir + "/rsyslogd.out");
  const loss_said said = loss_in(result.err);
  EXPECT_EQ(result.exit_code, said.possibly_lost + said.dropped > 0 ? 5 : 0) << result.err;
  std::size_t per_reset_total = 0;
  for (std::size_t n : said.per_reset) per_reset_total += n;
  EXPECT_EQ(per_reset_total, said.possibly_lost) << result.err;
  // Once it is written, the summary is the last message; but it may have been dropped (the
  // buffer filled while the server was away): then until rsyslog has written nothing for 1 s.
  std::size_t size_before = 0;
  auto still_since = std::chrono::steady_clock::now();
  const std::string received = server.received_until(
      [&](const std::string& text) {
        if (said.dropped == 0) return summaries(1)(text);
        if (text.size() != size_before) {
          size_before = text.size();
          still_since = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - still_since > 1s;
      },
      30s);
  std::ofstream(dir + "/received.log") << received;
  const auto checked =
      run_command({"python3", "-c", missing_checker, dir + "/received.log", app, "100000"});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  std::istringstream fields(checked.out);
  std::size_t missing = 0, runs = 0, longest_run = 0, twice = 0;
  fields >> missing >> runs >> longest_run >> twice;
  std::cout << app << ": " << missing << " lines missing in " << runs << " runs (longest "
            << longest_run << "), " << twice << " arrived twice; pipemux said:\n"
            << result.err;
  EXPECT_LE(missing, said.possibly_lost + said.dropped) << result.err;
  // The possibly lost of one reset are the last messages acknowledged before it: consecutive.
  if (said.dropped == 0) {
    EXPECT_LE(runs, said.per_reset.size());
    std::size_t largest = 0;
    for (std::size_t n : said.per_reset) largest = std::max(largest, n);
    EXPECT_LE(longest_run, largest);
  }
}

TEST(Syslog, OverTcpAServerKilledMidStreamLosesNoMoreThanPipemuxCounts) {
  if (!rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  server_goes_away_mid_stream(SIGKILL, "killed");
}

TEST(Syslog, OverTcpAServerRestartedMidStreamLosesNoMoreThanPipemuxCounts) {
  if (!rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  server_goes_away_mid_stream(SIGTERM, "restarted");
}

// argv: LOG APP LINE_FILE: APP's messages in rsyslog's file, as (MSGID, MSG): whether they are
// pieces but the last, each valid UTF-8, and together the line.
constexpr const char* pieces_checker = R"PY(
import re, sys
log, app, line = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read().rstrip(b"\n")
parts = []
for record in open(log, "rb").read().split(b"\n"):
    m = re.match(rb'^(\S+) \d+ \w+ (\w+) \[pipemux@32473[^\]]*\] (.*)$', record)
    if m and m.group(1) == app.encode() and m.group(2) in (b"piece", b"line"):
        parts.append((m.group(2).decode(), m.group(3)))
kinds = [kind for kind, _ in parts]
def utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
print(f"{len(parts)} parts, pieces then a line {kinds == ['piece'] * (len(parts) - 1) + ['line']}, "
      f"each UTF-8 {all(utf8(b) for _, b in parts)}, "
      f"each at most 8096 bytes {all(len(b) <= 8096 for _, b in parts)}, "
      f"together the line {b''.join(b for _, b in parts) == line}")
)PY";

// rsyslog cuts a message over its maxMessageSize (8096 bytes by default): a 20 KB line over
// TCP became one cut record and bogus ones, and as one UDP datagram it was cut too. Split into
// pieces that fit, never inside a UTF-8 sequence, it arrives whole.
TEST(Syslog, ALineOverTheServersMaximumArrivesInMarkedPiecesThatMakeItUp) {
  if (!rsyslogd_installed()) GTEST_SKIP() << "rsyslogd is not installed (scripts/setup does)";
  rsyslog server("rsyslog-long");
  ASSERT_TRUE(server.start()) << server.startup_log();
  const std::string& dir = server.dir();
  const int port = server.port();
  std::string line;
  for (int i = 0; line.size() < 20000; ++i)
    line += "w" + std::to_string(i) + "-\xc3\xa9\xe2\x82\xac-";  // "é" and "€"
  std::ofstream(dir + "/line.txt") << line << "\n";
  for (const auto& [app, transport] : {std::pair{"longtcp", "tcp"}, std::pair{"longudp", "udp"}}) {
    const auto result =
        run_command({pipemux_exe(), "--syslog-to",
                     std::string(transport) + "://127.0.0.1:" + std::to_string(port), "--names",
                     app, "cat " + dir + "/line.txt"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    // The report alone: the pieces are so many messages, all delivered.
    EXPECT_TRUE(result.err.starts_with("pipemux: delivered: syslog " + std::string(transport)) &&
                result.err.ends_with(", 0 dropped, 1 connection\n") &&
                std::count(result.err.begin(), result.err.end(), '\n') == 1)
        << result.err;
  }
  const std::string received = server.received_until(summaries(2));
  std::ofstream(dir + "/received.log") << received;
  for (const char* app : {"longtcp", "longudp"}) {
    const auto checked = run_command(
        {"python3", "-c", pieces_checker, dir + "/received.log", app, dir + "/line.txt"});
    ASSERT_EQ(checked.exit_code, 0) << checked.err;
    EXPECT_EQ(checked.out,
              "3 parts, pieces then a line True, each UTF-8 True, each at most 8096 bytes True, "
              "together the line True\n")
        << app;
  }
}

}  // namespace
}  // namespace pipemux
