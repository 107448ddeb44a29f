// What the RELP tests check in rsyslogd's file (tests/process/relp_test.cpp, relp_tls_test.cpp):
// per child, the spam lines missing, the copies beyond the first (a duplicate has the same
// seq="N"), whether the first copies came in order.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "rsyslog_server.hpp"
#include "run_command.hpp"

namespace pipemux::test {

inline bool imrelp_installed() {
  return rsyslogd_installed() && std::system(
                                     "test -e /usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so || "
                                     "ls /usr/lib/*/rsyslog/imrelp.so >/dev/null 2>&1") == 0;
}

// argv: LOG APP CHILDREN COUNT. For APP's spam lines in rsyslog's file, per child index: the
// lines missing, the copies beyond the first, whether the first copies came in order, and
// whether every copy of a message (the same index and seq="N") is the same line, the highest
// seq received; then how many lines it could not read.
inline constexpr const char* relp_checker = R"PY(
import re, sys
log, app, children, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
row = re.compile(r'^(\S+) (\d+) (\w+) (\w+) \[pipemux@32473 index="(\d+)" instance="(\d+)"'
                 r'(?: stream="(\w+)")? seq="(\d+)"\] (.*)$')
first, copies, by_number, bad = {}, {}, {}, 0
for line in open(log, encoding="utf-8", errors="replace").read().splitlines():
    if not line.startswith(app + " "):
        continue
    m = row.match(line)
    if not m:
        bad += 1
        continue
    name, pid, severity, msgid, index, instance, stream, number, msg = m.groups()
    key = (index, number)
    if by_number.setdefault(key, msg) != msg:
        bad += 1
    if msgid != "line":
        continue
    s = re.fullmatch(r"Spam \d child=" + index + r" seq=(\d+)", msg)
    if not s:
        bad += 1
        continue
    seq = int(s.group(1))
    seen = copies.setdefault(index, {})
    seen[seq] = seen.get(seq, 0) + 1
    if seen[seq] == 1:
        first.setdefault(index, []).append(seq)
for index in map(str, range(children)):
    got = copies.get(index, {})
    missing = sum(1 for seq in range(count) if seq not in got)
    twice = sum(n - 1 for n in got.values())
    order = first.get(index, []) == sorted(first.get(index, []))
    highest = max(got) if got else -1
    print(f"child {index}: missing {missing} ordered {order} twice {twice} highest {highest}")
print("malformed", bad)
)PY";

struct delivery {
  std::size_t missing = 0, twice = 0;
  long highest = -1;  // the highest seq of a child's received
  bool ordered = true;
  std::size_t malformed = 0;
  std::string text;
};

inline delivery check(const rsyslog& server, const std::string& app, int children, int count) {
  std::ofstream(server.dir() + "/received.log") << read_file(server.dir() + "/out.log");
  const auto result = run_command({"python3", "-c", relp_checker, server.dir() + "/received.log",
                                   app, std::to_string(children), std::to_string(count)});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  delivery said;
  said.text = result.out;
  std::istringstream in(result.out);
  std::string word;
  while (in >> word) {
    if (word == "missing") {
      std::size_t n = 0;
      in >> n;
      said.missing += n;
    } else if (word == "ordered") {
      in >> word;
      said.ordered = said.ordered && word == "True";
    } else if (word == "twice") {
      std::size_t n = 0;
      in >> n;
      said.twice += n;
    } else if (word == "highest") {
      long n = -1;
      in >> n;
      said.highest = std::max(said.highest, n);
    } else if (word == "malformed") {
      in >> said.malformed;
    }
  }
  return said;
}

// Each child's spam lines of `app` in rsyslog's text (over TCP there is no seq="N": the line's
// own "seq=S" says): how many are missing or came twice, and whether they came in order.
struct text_delivery {
  std::size_t missing = 0, twice = 0;
  bool ordered = true;
};

inline text_delivery check_text(const std::string& text, const std::string& app, int children,
                                int count) {
  std::vector<std::vector<int>> seen(static_cast<std::size_t>(children));
  std::vector<int> last(static_cast<std::size_t>(children), -1);
  text_delivery said;
  const std::regex spam_line(R"( child=(\d+) seq=(\d+)$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (line.rfind(app + " ", 0) != 0 || !std::regex_search(line, m, spam_line)) continue;
    const auto child = std::stoul(m[1]);
    const int seq = std::stoi(m[2]);
    if (child >= seen.size() || seq >= count) continue;
    seen[child].push_back(seq);
    if (seq <= last[child]) said.ordered = false;
    last[child] = std::max(last[child], seq);
  }
  for (auto& got : seen) {
    std::sort(got.begin(), got.end());
    const auto distinct =
        static_cast<std::size_t>(std::unique(got.begin(), got.end()) - got.begin());
    said.twice += got.size() - distinct;
    said.missing += static_cast<std::size_t>(count) - distinct;
  }
  return said;
}

// Each child's summary is the last message about it.
inline bool has_summaries(const std::string& text, std::size_t children) {
  std::size_t found = 0;
  for (auto at = text.find(" summary ["); at != std::string::npos;
       at = text.find(" summary [", at + 1))
    ++found;
  return found >= children;
}

inline std::string spam(int count) {
  return pipemux_exe() + " spam --count " + std::to_string(count) + " --interval 0 --sequence";
}

}  // namespace pipemux::test
