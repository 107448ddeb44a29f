// --journal against a real systemd-journald, started by the test in a private mount namespace
// (tmpfs on /run/systemd, /run/log and /var/log/journal: the host's journal is not touched),
// read back with journalctl -o json: every field, every line once, binary intact; and the
// switch to the journal when standard output is the journal's stream (JOURNAL_STREAM).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_command.hpp"

namespace pipemux {
namespace {
using test::pipemux_exe;
using test::read_file;
using test::run_command;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Runs in `unshare -m`: journald, then pipemux three ways, then journalctl until the four
// summaries are in (journald writes asynchronously).
constexpr const char* in_namespace = R"SH(
mkdir -p /run/systemd /run/log /var/log/journal
mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/journal
mount -t tmpfs tmpfs /run/log && mount -t tmpfs tmpfs /var/log/journal || exit 1
/lib/systemd/systemd-journald & journald=$!
i=0
while [ ! -S /run/systemd/journal/socket ]; do
  i=$((i+1)); [ $i -gt 100 ] && { echo "journald did not start"; kill $journald; exit 0; }
  sleep 0.1
done
@PIPEMUX@ --journal -c @CONFIG@ > @DIR@/explicit.out 2> @DIR@/explicit.err; echo $? > @DIR@/explicit.rc
sh -c 'export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1); exec "$@"' sh \
  @PIPEMUX@ --names auto 'echo via-auto' > @DIR@/auto.out
JOURNAL_STREAM=1:1 @PIPEMUX@ --names beside 'echo via-stdout' > @DIR@/beside.out
i=0
until [ "$(journalctl -o json --no-pager | grep -c '"PIPEMUX_KIND":"summary"')" -ge 4 ]; do
  i=$((i+1)); [ $i -gt 100 ] && break
  sleep 0.1
done
journalctl -o json --no-pager > @DIR@/journal.json
kill $journald
wait $journald
echo "journald ran"
)SH";

// Each spam child's entries: its lines once each, in order, with the fields; its reports.
constexpr const char* checker = R"PY(
import json, re, sys
entries = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
ours = [e for e in entries if "PIPEMUX_KIND" in e]
def text(e):  # journalctl gives a message that is not UTF-8 text as an array of bytes
    m = e["MESSAGE"]
    return bytes(m) if isinstance(m, list) else m
for index in ("0", "1"):
    mine = [e for e in ours if e.get("PIPEMUX_CHILD_INDEX") == index and
            e["SYSLOG_IDENTIFIER"] == "spam"]
    start = [e for e in mine if e["PIPEMUX_KIND"] == "start"]
    lines = [e for e in mine if e["PIPEMUX_KIND"] == "line"]
    seqs = [int(re.fullmatch(r"Spam \d child=" + index + r" seq=(\d+)", text(e)).group(1)) for e in lines]
    fields = all(e["SYSLOG_IDENTIFIER"] == "spam" and e["PRIORITY"] == "6" and
                 e["PIPEMUX_STREAM"] == "out" and e["PIPEMUX_CHILD_INSTANCE"] == index and
                 e["SYSLOG_PID"] == start[0]["SYSLOG_PID"] for e in lines)
    kinds = ",".join(sorted({e["PIPEMUX_KIND"] for e in mine}))
    print(f"child {index}: {len(lines)} lines, in order {seqs == list(range(len(seqs)))}, "
          f"fields {fields}, kinds {kinds}")
for e in ours:
    if e.get("SYSLOG_IDENTIFIER") in ("errs", "auto", "beside"):
        print(e["SYSLOG_IDENTIFIER"], e["PIPEMUX_KIND"], e["PRIORITY"], e.get("PIPEMUX_STREAM"),
              repr(text(e)) if e["PIPEMUX_KIND"] == "line" else "")
)PY";

TEST(Journal, EveryLineReachesARealJournaldOnceWithItsFields) {
  if (::geteuid() != 0) GTEST_SKIP() << "starting journald in a mount namespace needs root";
  if (!std::filesystem::exists("/lib/systemd/systemd-journald"))
    GTEST_SKIP() << "systemd-journald is not installed (scripts/setup installs systemd)";
  const std::string dir = test::temp_path("journal");
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/pipemux.toml";
  std::ofstream(config) << R"([[program]]
name = "spam"
command = ")" << pipemux_exe()
                        << R"( spam --count 500 --interval 0 --sequence"
instances = 2
[[program]]
name = "errs"
command = "printf 'to stderr\\n' >&2; printf 'bin\\001\\377ary\\n'"
)";
  std::string script = replaced(in_namespace, "@PIPEMUX@", pipemux_exe());
  script = replaced(replaced(script, "@CONFIG@", config), "@DIR@", dir);
  const auto ran = run_command({"unshare", "-m", "--propagation", "private", "sh", "-c", script});
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  if (ran.out.find("journald did not start") != std::string::npos)
    GTEST_SKIP() << "systemd-journald did not start here: " << ran.err;
  ASSERT_EQ(ran.out, "journald ran\n") << ran.err;
  EXPECT_EQ(read_file(dir + "/explicit.rc"), "0\n") << read_file(dir + "/explicit.err");
  EXPECT_EQ(read_file(dir + "/explicit.out"), "") << "--journal alone: nothing on stdout";
  EXPECT_EQ(read_file(dir + "/auto.out"), "") << "stdout is the journal: native entries instead";
  EXPECT_NE(read_file(dir + "/beside.out").find("out | via-stdout\n"), std::string::npos)
      << "JOURNAL_STREAM names another file: the log stays on stdout";

  const auto checked = run_command({"python3", "-c", checker, dir + "/journal.json"});
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  const auto lines = test::lines_of(checked.out);
  const std::vector<std::string> expected = {
      "child 0: 500 lines, in order True, fields True, kinds exit,line,start,summary",
      "child 1: 500 lines, in order True, fields True, kinds exit,line,start,summary",
  };
  ASSERT_GE(lines.size(), 2U) << checked.out;
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 2), expected);
  // errs: stderr at priority 3, binary bytes intact (journalctl gives them as a byte array).
  const std::string rest =
      checked.out.substr(checked.out.find('\n', checked.out.find("child 1")) + 1);
  EXPECT_NE(rest.find("errs line 3 err 'to stderr'\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("errs line 6 out b'bin\\x01\\xffary'\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("errs exit 6 None \n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("auto line 6 out 'via-auto'\n"), std::string::npos) << rest;
  EXPECT_EQ(rest.find("beside"), std::string::npos) << rest;
}

// Runs a python3 script in a private mount namespace with a tmpfs on /run/systemd: the test's
// own journal socket (or none), never the host's. Its argv: PIPEMUX DIR.
test::command_result run_in_namespace(const char* script, const std::string& dir) {
  const std::string prologue = R"PY(
import os, subprocess, sys
os.makedirs("/run/systemd", exist_ok=True)
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
os.makedirs("/run/systemd/journal")
SOCKET = "/run/systemd/journal/socket"
PIPEMUX, DIR = sys.argv[1], sys.argv[2]
)PY";
  return run_command({"unshare", "-m", "--propagation", "private", "python3", "-c",
                      prologue + script, pipemux_exe(), dir});
}

// No journald: no socket at all (libsystemd's send returned 0 for that, "fail silently"),
// or a socket file nobody listens on; with --journal, and as the default output when
// JOURNAL_STREAM names standard output. Two runs at once, then one: each waits its 5 s for a
// journal.
constexpr const char* without_journald = R"PY(
import socket
def run(name, argv, env=None, **kw):
    return name, subprocess.Popen(argv, stderr=subprocess.PIPE, env=env, **kw)
runs = [run("missing", [PIPEMUX, "--journal", "seq 100"], stdout=subprocess.DEVNULL)]
stdout = open(DIR + "/stdout", "w")
st = os.fstat(stdout.fileno())
env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
runs.append(run("stream", [PIPEMUX, "seq 100"], env=env, stdout=stdout))
for name, p in runs:  # before the socket file exists
    p.wait(timeout=60)
refused = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
refused.bind(SOCKET)
refused.close()  # the file stays: connect() is refused
runs.append(run("refused", [PIPEMUX, "--journal", "seq 100"], stdout=subprocess.DEVNULL))
for name, p in runs:
    err = p.communicate(timeout=60)[1].decode()
    print(f"{name} {p.returncode} {err!r}")
print("stdout", repr(open(DIR + "/stdout").read()))
)PY";

TEST(Journal, WithoutAJournaldEveryEntryIsCountedAndTheRunExits5) {
  if (::geteuid() != 0) GTEST_SKIP() << "a private mount namespace needs root";
  const std::string dir = test::temp_path("no-journald");
  std::filesystem::create_directories(dir);
  const auto ran = run_in_namespace(without_journald, dir);
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  // 100 lines, the start, the exit and the summary: 103 entries, none sent.
  const std::string missing =
      "pipemux: warning: the journal (/run/systemd/journal/socket): dropping entries: not "
      "connected (No such file or directory) (the count comes at the end)\\n"
      "pipemux: 103 log entries could not be sent to the journal\\n";
  const std::string refused =
      "pipemux: warning: the journal (/run/systemd/journal/socket): dropping entries: not "
      "connected (Connection refused) (the count comes at the end)\\n"
      "pipemux: 103 log entries could not be sent to the journal\\n";
  EXPECT_EQ(test::lines_of(ran.out),
            (std::vector<std::string>{"missing 5 '" + missing + "'", "stream 5 '" + missing + "'",
                                      "refused 5 '" + refused + "'", "stdout ''"}))
      << ran.err;
}

// A journald that stops reading: its socket's queue fills (net.unix.max_dgram_qlen). The
// sender must not block the loop in sendmsg: signals are answered, the children stopped, and
// the entries never taken are counted: with those in the socket, every one the run made.
constexpr const char* stalled_journald = R"PY(
import socket, signal, struct, time
journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
journal.bind(SOCKET)  # and never read until pipemux is gone
err = open(DIR + "/stderr", "w")
pipemux = subprocess.Popen([PIPEMUX, "--journal", "-o", DIR + "/text.log", "--names", "chatty",
                            f"exec {PIPEMUX} spam --count 0 --interval 0 --sequence --record {DIR}/rec."],
                           stdout=subprocess.DEVNULL, stderr=err)
def until(what, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.01)
    return False
def child():  # the spam child (pipemux's guard process is a child too)
    try:
        for task in os.listdir(f"/proc/{pipemux.pid}/task"):
            for pid in open(f"/proc/{pipemux.pid}/task/{task}/children").read().split():
                if open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[1:2] == [b"spam"]:
                    return int(pid)
    except OSError:
        pass
    return None
def written(pid):
    try:
        return int(dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().splitlines())["wchar"])
    except OSError:
        return None
def stalled():  # the child has written nothing for 300 ms: nobody reads its pipe
    pid = child()
    if pid is None: return False
    before = written(pid)
    time.sleep(0.3)
    return before is not None and written(pid) == before
def text_has(n):
    return open(DIR + "/text.log", errors="replace").read().count("* received SIG") >= n
report = []
if not until(lambda: child() is not None, 10) or not until(stalled, 20):
    report.append("the child never stalled")
pid = child()
pipemux.send_signal(signal.SIGTERM)
report.append(f"child stopped {until(lambda: not os.path.exists(f'/proc/{pid}'), 3)}")
# A second request kills at once, a third gives up on the stalled output: each once the one
# before it is in the log, and each another signal (the same one within a second would be a
# copy of the request before it, as a wrapper forwards it).
report.append(f"first noted {until(lambda: text_has(1), 3)}")
pipemux.send_signal(signal.SIGINT)
report.append(f"second noted {until(lambda: text_has(2), 3)}")
pipemux.send_signal(signal.SIGHUP)
try:
    report.append(f"exit {pipemux.wait(timeout=3)}")
except subprocess.TimeoutExpired:
    pipemux.kill()
    report.append(f"no exit after the third signal; killed: {pipemux.wait()}")
entries = []
journal.setblocking(False)
while True:
    try:
        data = journal.recv(1 << 20)
    except BlockingIOError:
        break
    fields = {}
    while data:  # the native protocol: NAME=value\n, or NAME\n + 64-bit LE length + bytes + \n
        line, _, rest = data.partition(b"\n")
        if b"=" in line:
            name, _, value = line.partition(b"=")
            data = rest
        else:
            name, size = line, struct.unpack("<Q", rest[:8])[0]
            value, data = rest[8:8 + size], rest[9 + size:]
        fields[name.decode()] = value.decode(errors="replace")
    entries.append(fields)
kinds = [e["PIPEMUX_KIND"] for e in entries]
lines = [e["MESSAGE"] for e in entries if e["PIPEMUX_KIND"] == "line"]
in_order = lines == [f"Spam {n % 5} child=0 seq={n}" for n in range(len(lines))]
report.append(f"delivered {len(entries)}: start first {kinds[:1] == ['start']}, then lines in order {in_order and len(lines) == len(entries) - 1}")
report.append(f"lines written {open(DIR + '/rec.0').read()}")
print("\n".join(report))
)PY";

TEST(Journal, AJournaldThatStopsReadingLeavesSignalsAnsweredAndEveryEntryCounted) {
  if (::geteuid() != 0) GTEST_SKIP() << "a private mount namespace needs root";
  const std::string dir = test::temp_path("stalled-journald");
  std::filesystem::create_directories(dir);
  const auto ran = run_in_namespace(stalled_journald, dir);
  ASSERT_EQ(ran.exit_code, 0) << ran.out << ran.err;
  const auto report = test::lines_of(ran.out);
  ASSERT_EQ(report.size(), 6U) << ran.out << ran.err;
  EXPECT_EQ(std::vector<std::string>(report.begin(), report.begin() + 4),
            (std::vector<std::string>{"child stopped True", "first noted True", "second noted True",
                                      "exit 143"}))
      << ran.out << read_file(dir + "/stderr");
  std::smatch delivered, written;
  ASSERT_TRUE(std::regex_match(
      report[4], delivered,
      std::regex(R"(delivered (\d+): start first True, then lines in order True)")))
      << report[4];
  ASSERT_TRUE(std::regex_match(report[5], written, std::regex(R"(lines written (\d+))")))
      << report[5];
  // Every entry the run made: the start, each line the child wrote, three notes of the
  // signals, the exit and the summary. Those not in the socket are counted on stderr.
  const std::size_t made = std::stoul(written[1]) + 6;
  const std::string err = read_file(dir + "/stderr");
  std::smatch counted;
  ASSERT_TRUE(std::regex_search(
      err, counted, std::regex(R"(pipemux: (\d+) log entries could not be sent to the journal\n)")))
      << err;
  EXPECT_EQ(std::stoul(delivered[1]) + std::stoul(counted[1]), made) << err;
}

}  // namespace
}  // namespace pipemux
