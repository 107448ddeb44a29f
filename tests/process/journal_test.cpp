// --journal against a real systemd-journald, started by the test in a private mount namespace
// (tmpfs on /run/systemd, /run/log and /var/log/journal: the host's journal is not touched),
// read back with journalctl -o json: every field, every line once, binary intact; and the
// switch to the journal when standard output is the journal's stream (JOURNAL_STREAM).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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

}  // namespace
}  // namespace pipemux
