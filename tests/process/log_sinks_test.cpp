// Several outputs at once, files that rotate, and SIGUSR1 with a real logrotate: sequence-
// numbered spam is counted in every output, so a line lost, repeated or split by a rotation
// is found.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_command.hpp"

namespace pipemux {
namespace {
namespace fs = std::filesystem;
using test::pipemux_exe;
using test::read_file;
using test::run_command;

// argv: FORMAT (text|json) CHILDREN COUNT FILE...: finds each "Spam N child=C seq=S" line of
// the files (parsed as pipemux's text lines or as JSON objects) and says how many there are,
// how many of COUNT from each of CHILDREN (indexes: "0,1,3") are missing (or are another
// child's) or repeated, and how many lines are malformed. COUNT may be one per child ("12,15").
constexpr const char* sequence_checker = R"PY(
import json, re, sys
fmt, children = sys.argv[1], [int(c) for c in sys.argv[2].split(",")]
counts = [int(n) for n in sys.argv[3].split(",")]
counts = counts * len(children) if len(counts) == 1 else counts
text = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \S+ *\[\d+\] +(out|err|-) ([|*]) (.*)$")
spam = re.compile(r"Spam (\d) child=(\d+) seq=(\d+)")
seen, malformed = {}, 0
for path in sys.argv[4:]:
    for raw in open(path, "rb"):
        line = raw.decode("utf-8")
        if not line.endswith("\n"):
            malformed += 1
            continue
        if fmt == "json":
            obj = json.loads(line)
            is_line, message = obj["kind"] == "line", obj.get("message", "")
        else:
            m = text.match(line[:-1])
            if not m:
                malformed += 1
                continue
            is_line, message = m.group(2) == "|", m.group(3)
        if not is_line:
            continue
        m = spam.fullmatch(message)
        if not m or int(m.group(1)) != int(m.group(3)) % 5:
            malformed += 1
            continue
        key = (int(m.group(2)), int(m.group(3)))
        seen[key] = seen.get(key, 0) + 1
missing = sum((c, s) not in seen for c, n in zip(children, counts) for s in range(n))
missing += sum(c not in children for c, s in seen)  # another child's line
repeated = sum(n > 1 for n in seen.values())
print(f"lines {sum(seen.values())} missing {missing} repeated {repeated} malformed {malformed}")
)PY";

std::string verdict(const std::string& format, const std::string& children,
                    const std::string& counts, const std::vector<std::string>& files) {
  std::vector<std::string> argv = {"python3", "-c", sequence_checker, format, children, counts};
  argv.insert(argv.end(), files.begin(), files.end());
  const auto result = run_command(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out;
}

// Children 0 to children-1.
std::string verdict(const std::string& format, int children, int count,
                    const std::vector<std::string>& files) {
  std::string list;
  for (int c = 0; c < children; ++c) list += (c == 0 ? "" : ",") + std::to_string(c);
  return verdict(format, list, std::to_string(count), files);
}

std::string verdict(const std::string& format, const std::string& children, int count,
                    const std::vector<std::string>& files) {
  return verdict(format, children, std::to_string(count), files);
}

std::string all_found(int children, int count) {
  return "lines " + std::to_string(children * count) + " missing 0 repeated 0 malformed 0\n";
}

// A fresh directory of its own for a test's files.
std::string directory(const std::string& name) {
  std::string dir = test::temp_path(name);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string write_config(const std::string& dir, const std::string& text) {
  std::string path = dir + "/pipemux.toml";
  std::ofstream(path) << text;
  return path;
}

std::string spam_table(int count, double interval) {
  return "[spam]\ncount = " + std::to_string(count) + "\ninterval = " + std::to_string(interval) +
         "\nsequence = true\n";
}

TEST(LogSinks, SeveralOutputsAtOnceEachInItsFormatWithEveryLine) {
  const std::string dir = directory("several");
  const std::string config = write_config(dir, spam_table(800, 0));
  const std::string text = dir + "/run.log", json = dir + "/run.jsonl";
  const auto result = run_command(
      {pipemux_exe(), "-c", config, "-n", "3", "-o", "-", "-o", "json:" + json, "-o", text});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  // Text to standard output and to the file: the same bytes, reports' times included.
  EXPECT_EQ(read_file(text), result.out);
  EXPECT_EQ(verdict("text", 3, 800, {text}), all_found(3, 800));
  EXPECT_EQ(verdict("json", 3, 800, {json}), all_found(3, 800));
  EXPECT_NE(read_file(json).find("\"kind\":\"summary\""), std::string::npos);
}

TEST(LogSinks, ConfigSinksRotateDailyAndHourlyWithSpdlogsNames) {
  const std::string dir = directory("timed");
  fs::create_directories(dir + "/daily");
  fs::create_directories(dir + "/hourly");
  const std::string config = write_config(dir, spam_table(300, 0) + R"(
[[log.sink]]
path = "-"
[[log.sink]]
path = ")" + dir + R"(/daily/run.log"
rotate = "daily"
max_files = 7
[[log.sink]]
path = ")" + dir + R"(/hourly/run.jsonl"
format = "json"
rotate = "hourly"
)");
  const auto result = run_command({pipemux_exe(), "-c", config, "-n", "2"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto daily = files_in(dir + "/daily"), hourly = files_in(dir + "/hourly");
  ASSERT_FALSE(daily.empty());
  ASSERT_FALSE(hourly.empty());
  // spdlog's names: run_2026-11-30.log, run_2026-11-30_21.jsonl (two if the run crossed one).
  EXPECT_TRUE(std::regex_search(daily.front(), std::regex("/run_\\d{4}-\\d\\d-\\d\\d\\.log$")))
      << daily.front();
  EXPECT_TRUE(
      std::regex_search(hourly.front(), std::regex("/run_\\d{4}-\\d\\d-\\d\\d_\\d\\d\\.jsonl$")))
      << hourly.front();
  EXPECT_EQ(verdict("text", 2, 300, daily), all_found(2, 300));
  EXPECT_EQ(verdict("json", 2, 300, hourly), all_found(2, 300));
  std::ofstream(dir + "/stdout.log") << result.out;
  EXPECT_EQ(verdict("text", 2, 300, {dir + "/stdout.log"}), all_found(2, 300));
}

TEST(LogSinks, SizeRotationNeverSplitsNorLosesALine) {
  const std::string dir = directory("sized");
  const std::string config = write_config(dir, spam_table(3000, 0) + R"(
[[log.sink]]
path = ")" + dir + R"(/run.log"
max_size = "4K"
max_files = 1000
)");
  const auto result = run_command({pipemux_exe(), "-c", config, "-n", "2"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  std::vector<std::string> files = files_in(dir);
  std::erase(files, config);
  // About 450 KB of log in files of at most 4 KiB: run.log, run.1.log ... run.N.log.
  EXPECT_GT(files.size(), 100U);
  for (const auto& file : files) {
    EXPECT_LE(fs::file_size(file), 4096U) << file;
    EXPECT_TRUE(std::regex_search(file, std::regex("/run(\\.\\d+)?\\.log$"))) << file;
  }
  EXPECT_EQ(verdict("text", 2, 3000, files), all_found(2, 3000));
}

TEST(LogSinks, AProgramsOwnFilesGetItsLinesAndReportsByNameAndIndex) {
  const std::string dir = directory("per-program");
  const std::string spam =
      "\"exec " + pipemux_exe() + " spam --count 400 --interval 0 --sequence\"";
  const std::string config = write_config(dir, R"(
[[program]]
name = "web"
command = )" + spam + R"(
instances = 2
output = ")" + dir + R"(/{name}.{index}.log"
[[program]]
name = "worker"
command = )" + spam + R"(
output = ")" + dir + R"(/{name}-all.log"
log_streams = "none"
[[program]]
name = "clock"
command = )" + spam + R"(
)");
  const auto result = run_command({pipemux_exe(), "-c", config});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string log = dir + "/run.log";
  std::ofstream(log) << result.out;
  // The run's log: every line but the worker's (log_streams = "none"), and all the reports.
  EXPECT_EQ(verdict("text", "0,1,3", 400, {log}), all_found(3, 400));
  EXPECT_NE(result.out.find("worker.0["), std::string::npos);
  // Each child's file: its lines, its start, exit and summary, nobody else's.
  const std::pair<std::string, int> files[] = {
      {"web.0.log", 0}, {"web.1.log", 1}, {"worker-all.log", 2}};
  for (const auto& [name, index] : files) {
    const std::string file = (fs::path(dir) / name).string();
    EXPECT_EQ(verdict("text", std::to_string(index), 400, {file}), all_found(1, 400)) << name;
    const auto lines = test::lines_of(read_file(file));
    // Labels number each program's children on their own: web.0, web.1, worker.0.
    const std::regex label(index < 2 ? " web\\." + std::to_string(index) + " *\\["
                                     : std::string(" worker\\.0 *\\["));
    for (const char* report :
         {"* started: ", "* exited with code 0 after", "* summary: 400 messages"})
      EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                              [&](const std::string& line) {
                                return std::regex_search(line, label) &&
                                       line.find(report) != std::string::npos;
                              }),
                1)
          << name << ": " << report;
    EXPECT_EQ(lines.size(), 403U) << name << ": only its own lines";
  }
  EXPECT_EQ(files_in(dir).size(), 5U) << "the config, the run's log and three files";
}

TEST(LogSinks, AProgramsOutputTemplateIsCheckedAndItsFileNamedWhenItCannotOpen) {
  const std::string dir = directory("per-program-bad");
  const std::string bad = write_config(
      dir, "[[program]]\nname = \"web\"\ncommand = \"true\"\noutput = \"{name}.{pid}.log\"\n");
  const auto unknown = run_command({pipemux_exe(), "-c", bad});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "pipemux: error: " + bad +
                             ":4:10: program[0].output: only {name}, {index} and {instance} may be "
                             "in braces (got \"{pid}\")\n");
  const std::string missing =
      write_config(dir, "[[program]]\nname = \"web\"\ncommand = \"true\"\noutput = \"" + dir +
                            "/no/{name}.log\"\n");
  const auto unopenable = run_command({pipemux_exe(), "-c", missing});
  EXPECT_EQ(unopenable.exit_code, 2);
  EXPECT_EQ(unopenable.out, "");
  EXPECT_EQ(unopenable.err, "pipemux: error: " + missing +
                                ":4:10: program[0].output: cannot open output '" + dir +
                                "/no/web.log': No such file or directory\n");
}

// The README's logrotate stanza, with the pid for `systemctl kill`: "create" moves the file
// away and makes a new one, then SIGUSR1 has pipemux open it by its name.
TEST(LogSinks, LogrotateAndSigusr1ReopenEveryFileAndLoseNothing) {
  if (std::system("command -v logrotate >/dev/null") != 0)
    GTEST_SKIP() << "logrotate is not installed (scripts/setup installs it)";
  const std::string dir = directory("logrotate");
  fs::create_directories(dir + "/plain");
  fs::create_directories(dir + "/sized");
  const std::string plain = dir + "/plain/run.log", sized = dir + "/sized/run.log";
  // Two children write the spam's numbered lines until told to stop, then record how many
  // they wrote: the rotations happen while they write, however slowly a loaded machine runs
  // them or logrotate (a fixed count could run out before the third rotation).
  const std::string stop = dir + "/stop", record = dir + "/written.";
  const std::string producer =
      "s=0; while [ ! -e " + stop +
      " ]; do i=0; while [ $i -lt 10 ]; do "
      "echo \"Spam $((s % 5)) child=$PIPEMUX_CHILD_INDEX seq=$s\"; s=$((s+1)); i=$((i+1)); "
      "done; sleep 0.01; done; echo $s > " +
      record + "$PIPEMUX_CHILD_INDEX";
  const std::string config = write_config(dir, R"(
[[program]]
name = "spam"
instances = 2
command = ['sh', '-c', ')" + producer + R"(']
[[log.sink]]
path = ")" + plain + R"("
[[log.sink]]
path = ")" + sized + R"("
max_size = "64M"
)");
  const auto size_of = [](const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    return ec ? 0 : size;
  };
  const std::string reopened = "received SIGUSR1: log files reopened";
  int rotations = 0;
  auto last = std::chrono::steady_clock::now();
  test::command_options options;
  options.timeout = std::chrono::seconds(120);
  options.watch = [&](int pid, const std::string&) {
    // Each pair of files in turn holds lines of the spam, and from the second on, the note of
    // the reopen that made them: then the next rotation, or after the third, the end.
    if (std::chrono::steady_clock::now() - last < std::chrono::milliseconds(300) ||
        size_of(plain) < 4000 || size_of(sized) < 4000)
      return false;
    if (rotations > 0 && (read_file(plain).find(reopened) == std::string::npos ||
                          read_file(sized).find(reopened) == std::string::npos))
      return false;
    if (rotations == 3) {
      std::ofstream(stop).put('\n');
      return true;
    }
    std::ofstream(dir + "/logrotate.conf") << plain << R"( {
    rotate 10
    missingok
    notifempty
    create 0644
    postrotate
        kill -USR1 )" << pid << R"(
    endscript
}
)";
    // A size-rotated sink is moved by hand: its reopen makes a new spdlog sink.
    fs::rename(sized, sized + "." + std::to_string(rotations + 1));
    const std::string logrotate =
        "logrotate -f -s '" + dir + "/state' '" + dir + "/logrotate.conf' 2>&1";
    EXPECT_EQ(std::system(logrotate.c_str()), 0);
    last = std::chrono::steady_clock::now();
    ++rotations;
    return false;
  };
  const auto result = run_command({pipemux_exe(), "-c", config}, options);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_EQ(rotations, 3);
  long long counts[2] = {0, 0};
  std::ifstream(record + "0") >> counts[0];
  std::ifstream(record + "1") >> counts[1];
  ASSERT_TRUE(counts[0] > 0 && counts[1] > 0) << "a child did not record what it wrote";
  const std::string written = std::to_string(counts[0]) + "," + std::to_string(counts[1]);
  const std::string all_written =
      "lines " + std::to_string(counts[0] + counts[1]) + " missing 0 repeated 0 malformed 0\n";
  const auto rotated = files_in(dir + "/plain"), moved = files_in(dir + "/sized");
  EXPECT_EQ(rotated.size(), 4U);  // run.log and run.log.1 ... run.log.3
  EXPECT_EQ(moved.size(), 4U);
  EXPECT_EQ(verdict("text", "0,1", written, rotated), all_written);
  EXPECT_EQ(verdict("text", "0,1", written, moved), all_written);
  // The note goes to the new files, after the last rotation too.
  EXPECT_NE(read_file(plain).find(reopened), std::string::npos);
  EXPECT_NE(read_file(sized).find(reopened), std::string::npos);
  // Each file, the one moved away first to the one written last, holds lines of the spam.
  for (const auto& files : {rotated, moved})
    for (const auto& file : files)
      EXPECT_FALSE(verdict("text", "0,1", written, {file}).starts_with("lines 0 ")) << file;
}

TEST(LogSinks, AnOutputThatCannotBeOpenedIsNamedAndNothingRuns) {
  const std::string dir = directory("unopenable");
  const std::string marker = test::unique("never-run");
  const auto result = run_command(
      {pipemux_exe(), "-o", "-", "-o", "json:" + dir + "/no/such.jsonl", "echo " + marker});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "pipemux: error: --output: cannot open output '" + dir +
                            "/no/such.jsonl': No such file or directory\n");
  // spdlog makes a rotating file's directory if it is missing: not under a regular file.
  std::ofstream(dir + "/file") << "a file, not a directory\n";
  const std::string config = write_config(dir, R"([[log.sink]]
path = ")" + dir + R"(/file/run.log"
max_size = 1000
)");
  const auto rotating = run_command({pipemux_exe(), "-c", config, "echo " + marker});
  EXPECT_EQ(rotating.exit_code, 2);
  EXPECT_EQ(rotating.out, "");
  EXPECT_TRUE(rotating.err.starts_with("pipemux: error: " + config +
                                       ":2:8: log.sink[0].path: cannot open output '" + dir +
                                       "/file/run.log': "))
      << rotating.err;
  EXPECT_TRUE(rotating.err.ends_with(": Not a directory\n")) << rotating.err;
  EXPECT_EQ(std::count(rotating.err.begin(), rotating.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace pipemux
