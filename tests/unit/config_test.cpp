// Tests for include/pipemux/config.hpp and the command line's precedence (src/cli).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "command_line.hpp"
#include "pipemux/config.hpp"
#include "pipemux/procfile.hpp"
#include "pipemux/shell_command.hpp"

namespace pipemux {
namespace {

TEST(Config, BuiltInDefaults) {
  const config cfg;
  EXPECT_EQ(cfg.run.read_size, 65536u);
  EXPECT_EQ(cfg.run.framing, framing_mode::line);
  EXPECT_EQ(cfg.run.max_line, 65536u);
  EXPECT_EQ(cfg.run.stop_grace, std::chrono::milliseconds(5000));
  EXPECT_EQ(cfg.children, 1u);
  EXPECT_TRUE(cfg.programs.empty());
  EXPECT_EQ(cfg.spam.count, 0u);
  EXPECT_TRUE(cfg.log.sinks.empty());
  EXPECT_EQ(cfg.run.cgroup, cgroup_mode::if_available);  // the tool's default, not the library's
  EXPECT_EQ(run_options{}.cgroup, cgroup_mode::off);
}

TEST(Config, EveryKeyIsRead) {
  const config cfg = parse_config(R"(
read_size = 32
children = 3
framing = "raw"
max_line = 100
stop_grace = 1.5
cgroup = "required"
[log]
pattern = "%v"
output = "out.log"
[spam]
count = 7
interval = 0
payload = 20
sequence = true
[[program]]
name = "web"
command = ["python3", "-m", "http.server"]
instances = 2
env = { PORT = "8000" }
cwd = "/tmp"
[[program]]
name = "worker"
command = ["sleep", "1"]
)",
                                  "test.toml");
  EXPECT_EQ(cfg.run.read_size, 32u);
  EXPECT_EQ(cfg.children, 3u);
  EXPECT_EQ(cfg.run.framing, framing_mode::raw);
  EXPECT_EQ(cfg.run.max_line, 100u);
  EXPECT_EQ(cfg.run.stop_grace, std::chrono::milliseconds(1500));
  EXPECT_EQ(cfg.run.cgroup, cgroup_mode::required);
  EXPECT_EQ(cfg.log.pattern, "%v");
  ASSERT_EQ(cfg.log.sinks.size(), 1U);
  EXPECT_EQ(cfg.log.sinks[0].path, "out.log");
  EXPECT_EQ(cfg.spam.count, 7u);
  EXPECT_EQ(cfg.spam.interval, 0.0);
  EXPECT_EQ(cfg.spam.payload, 20u);
  EXPECT_TRUE(cfg.spam.sequence);
  const auto programs = cfg.resolved_programs();
  ASSERT_EQ(programs.size(), 2u);
  EXPECT_EQ(programs[0].name, "web");
  EXPECT_EQ(programs[0].argv, (std::vector<std::string>{"python3", "-m", "http.server"}));
  EXPECT_EQ(programs[0].instances, 2u);
  EXPECT_EQ(programs[0].environment,
            (std::vector<std::pair<std::string, std::string>>{{"PORT", "8000"}}));
  EXPECT_EQ(programs[0].working_directory, "/tmp");
  EXPECT_EQ(programs[1].instances, 3u) << "unset instances take `children`";
}

// The error, its location and its one-line message.
struct bad_config {
  std::string text;
  std::size_t line, column;
  std::string key;
  std::string problem_contains;
  friend void PrintTo(const bad_config& b, std::ostream* os) { *os << b.key; }
};

class ConfigErrors : public ::testing::TestWithParam<bad_config> {};

// "a.a.a...": a key of `parts` + 1 parts.
std::string dotted_key(int parts) {
  std::string key = "a";
  for (int i = 0; i < parts; ++i) key += ".a";
  return key;
}

TEST_P(ConfigErrors, NameFileLineColumnAndKey) {
  const bad_config& bad = GetParam();
  try {
    parse_config(bad.text, "conf/bad.toml");
    FAIL() << "accepted: " << bad.text;
  } catch (const config_error& e) {
    EXPECT_EQ(e.source(), "conf/bad.toml");
    EXPECT_EQ(e.line(), bad.line) << e.what();
    EXPECT_EQ(e.column(), bad.column) << e.what();
    EXPECT_EQ(e.key(), bad.key) << e.what();
    EXPECT_NE(e.problem().find(bad.problem_contains), std::string::npos) << e.what();
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    EXPECT_EQ(what.rfind("conf/bad.toml:" + std::to_string(bad.line) + ":" +
                             std::to_string(bad.column) + ": ",
                         0),
              0u)
        << what;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EachKind, ConfigErrors,
    ::testing::Values(
        bad_config{"reed_size = 4", 1, 1, "reed_size", "unknown key"},
        bad_config{"\n[log]\n  colour = true", 3, 3, "log.colour", "unknown key"},
        bad_config{"read_size = 0", 1, 13, "read_size", "between 1 and 16777216 (got 0)"},
        bad_config{"read_size = 16777217", 1, 13, "read_size", "between 1 and 16777216"},
        bad_config{"children = 0", 1, 12, "children", "between 1 and 4096 (got 0)"},
        bad_config{"children = 5000", 1, 12, "children", "between 1 and 4096"},
        bad_config{"max_line = -1", 1, 12, "max_line", "between 1 and"},
        bad_config{"read_size = \"big\"", 1, 13, "read_size", "expected an integer, got string"},
        bad_config{"framing = \"words\"", 1, 11, "framing",
                   "must be one of \"line\", \"raw\" (got \"words\")"},
        bad_config{"cgroup = \"yes\"", 1, 10, "cgroup",
                   "must be one of \"auto\", \"off\", \"required\" (got \"yes\")"},
        bad_config{"stop_grace = -1", 1, 14, "stop_grace", "between 0 and 3600"},
        bad_config{"[spam]\nsequence = 1", 2, 12, "spam.sequence", "expected true or false"},
        bad_config{"log = 3", 1, 7, "log", "expected a table"},
        bad_config{"[[program]]\nname = \"x\"", 1, 1, "program[0].command", "missing"},
        bad_config{"[[program]]\ncommand = [\"ls\"]", 1, 1, "program[0].name", "non-empty name"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = []", 3, 11, "program[0].command",
                   "must name a program"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \" \\f\\r\\u000b\"", 3, 11,
                   "program[0].command", "must name a program"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = [\"ls\"]\ninstances = 0", 4, 13,
                   "program[0].instances", "between 1"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = [\"ls\"]\n[[program]]\nname = "
                   "\"x\"\ncommand = [\"ls\"]",
                   4, 1, "program[1].name", "used by another program"},
        bad_config{"read_size = = 4", 1, 13, "read_size", "could not determine"},
        bad_config{"stop_grace = 3600.0001", 1, 14, "stop_grace", "(got 3600.0001)"},
        bad_config{"stop_grace = nan", 1, 14, "stop_grace", "(got nan)"},
        bad_config{"\n[log]\noutput = 99999999999999999999", 3, 30, "log.output",
                   "not representable"},
        bad_config{"[[program]]\nname = \"a\\nb] out | FORGED\"\ncommand = [\"ls\"]", 2, 8,
                   "program[0].name", "printable text"},
        bad_config{"[[program]]\nname = \"\\u001b[31m\"\ncommand = [\"ls\"]", 2, 8,
                   "program[0].name", "(got \"\\x1b[31m\")"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = [\"ls\"]\nenv = { \"A=B\" = \"1\" }", 4, 9,
                   "program[0].env.A=B", "not a valid environment variable name"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nsuccess_codes = [0, 256]", 4, 21,
                   "program[0].success_codes", "between 0 and 255 (got 256)"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nsuccess_codes = 130", 4, 17,
                   "program[0].success_codes", "expected an array of exit codes, got integer"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nstop_signal = \"SIGNOPE\"", 4, 15,
                   "program[0].stop_signal", "not a signal: \"SIGNOPE\""},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nstop_grace = -1", 4, 14,
                   "program[0].stop_grace", "between 0 and 3600 seconds"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nstop_on = \"failed\"", 4, 11,
                   "program[0].stop_on", "must be one of \"never\", \"failure\", \"exit\""},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nlog_streams = \"stdout\"", 4, 15,
                   "program[0].log_streams", "must be one of \"both\", \"out\", \"err\", \"none\""},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nenv_file = \"\"", 4, 12,
                   "program[0].env_file", "must not be empty"},
        bad_config{"[log]\ncolor = \"yes\"", 2, 9, "log.color",
                   "must be one of \"auto\", \"always\", \"never\""},
        bad_config{"[log]\nansi = \"raw\"", 2, 8, "log.ansi", "must be one of \"keep\""},
        bad_config{"[log]\noutput = \"a\"\n[[log.sink]]\npath = \"b\"", 2, 10, "log.output",
                   "give log.output or [[log.sink]] tables, not both"},
        bad_config{"[[log.sink]]\nformat = \"json\"", 1, 1, "log.sink[0].path", "missing"},
        bad_config{"[[log.sink]]\npath = \"\"", 2, 8, "log.sink[0].path", "must not be empty"},
        bad_config{"[[log.sink]]\npath = \"-\"\nmax_size = 10", 2, 8, "log.sink[0].path",
                   "standard output cannot be rotated"},
        bad_config{"[[log.sink]]\npath = \"a\"\nmax_size = \"10X\"", 3, 12, "log.sink[0].max_size",
                   "with K, M or G (got \"10X\")"},
        bad_config{"[[log.sink]]\npath = \"a\"\nmax_size = 0", 3, 12, "log.sink[0].max_size",
                   "between 1 and"},
        bad_config{"[[log.sink]]\npath = \"a\"\nmax_size = \"2000000G\"", 3, 12,
                   "log.sink[0].max_size", "1024 TiB"},
        bad_config{"[[log.sink]]\npath = \"a\"\nrotate = \"daily\"\nmax_size = \"1M\"", 4, 12,
                   "log.sink[0].max_size", "by size or by time, not both"},
        bad_config{"[[log.sink]]\npath = \"a\"\nrotate = \"size\"", 3, 10, "log.sink[0].rotate",
                   "size rotation needs max_size"},
        bad_config{"[[log.sink]]\npath = \"a\"\nmax_files = 3", 3, 13, "log.sink[0].max_files",
                   "is for a rotated file"},
        bad_config{"[[log.sink]]\npath = \"a\"\nrotate = \"daily\"\nmax_files = 65536", 4, 13,
                   "log.sink[0].max_files", "between 1 and 65535"},
        bad_config{"[[log.sink]]\npath = \"a\"\nrotate = \"weekly\"", 3, 10, "log.sink[0].rotate",
                   "must be one of \"none\", \"size\", \"daily\""},
        bad_config{"[[log.sink]]\npath = \"a\"\nformat = \"xml\"", 3, 10, "log.sink[0].format",
                   "must be one of \"text\", \"json\""},
        bad_config{"[log]\nsink = \"a\"", 2, 8, "log.sink", "expected [[log.sink]] tables"},
        bad_config{"[[log.sink]]\ntype = \"journal\"\nformat = \"json\"", 3, 1,
                   "log.sink[0].format", "the journal takes fields, not a format or a path"},
        bad_config{"[[log.sink]]\ntype = \"kafka\"", 2, 8, "log.sink[0].type",
                   "must be one of \"file\", \"journal\", \"syslog\""},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"http://x\"", 3, 11,
                   "log.sink[0].address", "udp://, tcp://, tls:// or relp://HOST[:PORT] (got"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"tcp://256.1.1.1\"", 3, 11,
                   "log.sink[0].address",
                   "\"256.1.1.1\" is no IPv4 address (four numbers from 0 to 255) (got "
                   "\"tcp://256.1.1.1\")"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"\"", 3, 11, "log.sink[0].address",
                   "empty (\"local\" is /dev/log)"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\npath = \"x\"", 3, 1, "log.sink[0].path",
                   "syslog takes an address, a facility, a max_message, tls_ca, tls_cert, tls_key, "
                   "spool and spool_max"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\nspool_max = \"1G\"", 3, 13,
                   "log.sink[0].spool_max", "needs spool (a directory)"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\nspool = \"q\"\nspool_max = \"64K\"", 4, 13,
                   "log.sink[0].spool_max", "must be 1M at least"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\nspool = \"\"", 3, 9, "log.sink[0].spool",
                   "must not be empty: a directory"},
        bad_config{"[[log.sink]]\npath = \"x\"\nspool = \"q\"", 3, 9, "log.sink[0].spool",
                   "is for a syslog sink: a file needs no spool"},
        bad_config{"[[log.sink]]\npath = \"x\"\ntls_ca = \"/ca.pem\"", 3, 10, "log.sink[0].tls_ca",
                   "is for a syslog sink over tls:// or relp://"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"tcp://h\"\ntls_ca = \"/ca.pem\"",
                   4, 10, "log.sink[0].tls", "TLS is for a tls:// or relp:// address"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"relp://h\"\n"
                   "tls_ca = \"/nowhere/ca.pem\"",
                   4, 10, "log.sink[0].tls",
                   "cannot read \"/nowhere/ca.pem\": No such file or directory"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"relp://h\"\n"
                   "tls_key = \"/k.pem\"",
                   4, 11, "log.sink[0].tls", "TLS needs the CA"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"udp://h\"\nmax_message = \"64K\"",
                   4, 15, "log.sink[0].max_message",
                   "between 480 and 65507 bytes in one datagram (tcp:// takes up to 16 MiB) (got "
                   "65536)"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"tcp://h\"\nmax_message = 100", 4,
                   15, "log.sink[0].max_message",
                   "between 480 and 16777216 bytes over TCP (got 100)"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\nmax_message = \"8k\"", 3, 15,
                   "log.sink[0].max_message", "with K, M or G (got \"8k\")"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\nfacility = \"local9\"", 3, 12,
                   "log.sink[0].facility", "must be one of \"kern\""},
        // A NUL byte would cut an argument, a path or a variable short in silence.
        bad_config{"[[program]]\nname = \"x\"\ncommand = [\"ls\"]\nenv = { A = \"x\\u0000y\" }", 4,
                   13, "program[0].env.A", "a NUL byte"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\\u0000 -l\"", 3, 11,
                   "program[0].command",
                   "a NUL byte: the system would cut it there (got "
                   "\"ls\\x00 -l\")"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = [\"ls\", \"-\\u0000l\"]", 3, 18,
                   "program[0].command", "a NUL byte"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\ncwd = \"/tmp\\u0000x\"", 4, 7,
                   "program[0].cwd", "a NUL byte"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nenv_file = \"a\\u0000b\"", 4, 12,
                   "program[0].env_file", "a NUL byte"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\noutput = \"a\\u0000b\"", 4, 10,
                   "program[0].output", "a NUL byte"},
        bad_config{"[[program]]\nname = \"x\\u0000\"\ncommand = \"ls\"", 2, 8, "program[0].name",
                   "printable text"},
        bad_config{"[log]\noutput = \"run\\u0000.log\"", 2, 10, "log.output", "a NUL byte"},
        bad_config{"[[log.sink]]\npath = \"run\\u0000.log\"", 2, 8, "log.sink[0].path",
                   "a NUL byte"},
        bad_config{"[[log.sink]]\ntype = \"syslog\"\naddress = \"/dev/log\\u0000x\"", 3, 11,
                   "log.sink[0].address", "a NUL byte"},
        // Refused already; the value in the message is escaped, so the error stays one line.
        bad_config{"stop_signal = \"TERM\\u0000\\n\"", 1, 15, "stop_signal",
                   "not a signal: \"TERM\\x00\\n\""},
        bad_config{"framing = \"line\\u0000\\n\"", 1, 11, "framing", "(got \"line\\x00\\n\")"},
        bad_config{"stop_signal = \"SIGSTOP\"", 1, 15, "stop_signal",
                   "SIGSTOP pauses a process by default, it does not end it (give SIGTERM"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nstop_signal = \"CONT\"", 4, 15,
                   "program[0].stop_signal",
                   "SIGCONT resumes a paused process by default, it does not end it"},
        bad_config{"[[program]]\nname = \"x\"\ncommand = \"ls\"\nstop_signal = \"28\"", 4, 15,
                   "program[0].stop_signal", "SIGWINCH is ignored by default"},
        bad_config{"[log]\npattern = \"%L %v %\"", 2, 11, "log.pattern",
                   "ends in '%' with no flag after it"},
        bad_config{"[log]\npattern = \"%L\"", 2, 11, "log.pattern", "has no %v"},
        bad_config{"[log]\noutput = \"\"", 2, 10, "log.output",
                   "must not be empty (\"-\" is standard output)"},
        bad_config{"[[program]]\nname = \"ab\\u202Ecd\"\ncommand = [\"ls\"]", 2, 8,
                   "program[0].name",
                   "without control characters (bidirectional ones too) or backslashes (got "
                   "\"ab\\xe2\\x80\\xaecd\")"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\ndepends_on = { b = \"up\" }", 4,
                   20, "program[0].depends_on.b",
                   "must be one of \"started\", \"ready\", \"completed\", \"exited\""},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\ndepends_on = [\"b\"]", 4, 14,
                   "program[0].depends_on",
                   "'a' depends on 'b', which is not a program of this run"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\ndepends_on = [\"b\"]\n"
                   "[[program]]\nname = \"b\"\ncommand = \"ls\"\ndepends_on = { a = \"started\" }",
                   8, 14, "program[1].depends_on", "'b' is in a dependency cycle: a -> b -> a"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\ndepends_on = \"b\"", 4, 14,
                   "program[0].depends_on", "expected a table ({ db = \"ready\" }) or an array"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\n[program.ready]\ntcp = \"db\"", 5,
                   7, "program[0].ready.tcp", "must be HOST:PORT"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\n[program.ready]\nlog = \"a\"\n"
                   "tcp = \"h:1\"",
                   6, 7, "program[0].ready.tcp", "one probe per table"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\n[program.ready]\ninterval = 1", 4,
                   1, "program[0].ready", "needs a probe: log ="},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\n[program.alive]\nlog = \"a\"", 5,
                   7, "program[0].alive.log", "a log probe cannot tell a program stopped"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\n[program.ready]\n"
                   "http = \"http://h:1/\"\ntimeout = 0",
                   6, 11, "program[0].ready.timeout", "must be more than 0"},
        bad_config{"[[program]]\nname = \"a\"\ncommand = \"ls\"\non_dependency_failure = \"wait\"",
                   4, 25, "program[0].on_dependency_failure", "\"stop\", \"start\", \"skip\""},
        bad_config{dotted_key(50000) + " = 1", 1, 130, "", "tables nest too deep"},
        bad_config{"[" + dotted_key(50000) + "]", 1, 131, "", "tables nest too deep"}),
    [](const ::testing::TestParamInfo<bad_config>& info) {
      std::string name =
          std::to_string(info.index) + "_" + (info.param.key.empty() ? "syntax" : info.param.key);
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST(Config, LogSinksEachWithFormatAndRotation) {
  const config cfg = parse_config(R"([log]
format = "json"
[[log.sink]]
path = "-"
format = "text"
[[log.sink]]
path = "run.jsonl"
max_size = "10M"
max_files = 3
[[log.sink]]
path = "day.log"
rotate = "daily"
[[log.sink]]
path = "big.log"
max_size = 123456
[[log.sink]]
type = "journal"
[[log.sink]]
type = "syslog"
address = "tcp://10.1.2.3:1514"
facility = "local0"
max_message = "1M"
)",
                                  "c.toml");
  ASSERT_EQ(cfg.log.sinks.size(), 6U);
  EXPECT_EQ(cfg.log.sinks[5].kind, sink_kind::syslog);
  EXPECT_EQ(cfg.log.sinks[5].address.via, syslog_address::transport::tcp);
  EXPECT_EQ(cfg.log.sinks[5].address.host, "10.1.2.3");
  EXPECT_EQ(cfg.log.sinks[5].address.port, 1514);
  EXPECT_EQ(cfg.log.sinks[5].facility, 16);
  EXPECT_EQ(cfg.log.sinks[5].max_message, std::size_t{1} << 20);
  EXPECT_EQ(cfg.log.sinks[4].max_message, 8096U) << "rsyslog's maxMessageSize";
  EXPECT_EQ(parse_config("[[log.sink]]\ntype = \"syslog\"", "c.toml").log.sinks[0].address.host,
            "/dev/log")
      << "no address: the local socket (not an empty path, which no connect takes)";
  EXPECT_EQ(cfg.log.sinks[0].kind, sink_kind::file);
  EXPECT_EQ(cfg.log.sinks[4].kind, sink_kind::journal);
  EXPECT_FALSE(cfg.log.sinks[4].to_stdout());
  EXPECT_TRUE(cfg.log.sinks[0].to_stdout());
  EXPECT_EQ(cfg.log.sinks[0].format, log_format_kind::text);
  EXPECT_EQ(cfg.log.sinks[0].rotate, rotation_kind::none);
  EXPECT_EQ(cfg.log.sinks[0].origin, "c.toml:4:8: log.sink[0].path");
  EXPECT_EQ(cfg.log.sinks[1].path, "run.jsonl");
  EXPECT_FALSE(cfg.log.sinks[1].format.has_value()) << "log.format applies";
  EXPECT_EQ(cfg.log.sinks[1].rotate, rotation_kind::size);
  EXPECT_EQ(cfg.log.sinks[1].max_size, 10U << 20);
  EXPECT_EQ(cfg.log.sinks[1].max_files, 3U);
  EXPECT_EQ(cfg.log.sinks[2].rotate, rotation_kind::daily);
  EXPECT_EQ(cfg.log.sinks[2].max_files, 0U);
  EXPECT_EQ(cfg.log.sinks[3].max_size, 123456U);
}

TEST(Config, AProgramsOwnStopLogAndEnvSettingsAreRead) {
  const config cfg = parse_config(
      "[log]\ncolor = \"never\"\nansi = \"strip\"\ntimestamps = \"relative\"\n"
      "force_color_children = false\n"
      "[[program]]\nname = \"api\"\ncommand = \"run api\"\nsuccess_codes = [0, 130]\n"
      "stop_signal = \"INT\"\nstop_grace = 1.5\nstop_on = \"failure\"\ncolor = \"cyan\"\n"
      "log_streams = \"out\"\nenv_file = \"api.env\"\n"
      "[[program]]\nname = \"web\"\ncommand = \"run web\"\n",
      "/etc/app/pipemux.toml");
  ASSERT_EQ(cfg.programs.size(), 2u);
  const program_spec& api = cfg.programs[0];
  EXPECT_EQ(api.success_codes, (std::vector<int>{0, 130}));
  EXPECT_EQ(api.stop_signal, SIGINT);
  EXPECT_EQ(api.stop_grace, std::chrono::milliseconds(1500));
  EXPECT_EQ(api.stop_on, stop_condition::any_failure);
  const program_spec& web = cfg.programs[1];
  EXPECT_TRUE(web.success_codes.empty());
  EXPECT_FALSE(web.stop_signal || web.stop_grace || web.stop_on);
  EXPECT_EQ(cfg.log.color, color_choice::never);
  EXPECT_EQ(cfg.log.ansi, ansi_mode::strip);
  EXPECT_EQ(cfg.log.timestamps, timestamp_style::relative);
  EXPECT_FALSE(cfg.log.force_color_children);
  using color_entry = std::pair<std::string, std::uint8_t>;
  EXPECT_EQ(cfg.log.program_colors, (std::vector<color_entry>{{"api", 36}}));
  using streams_entry = std::pair<std::string, shown_streams>;
  EXPECT_EQ(cfg.log.program_streams, (std::vector<streams_entry>{{"api", shown_streams::out}}));
  // Recorded by name, relative to the config's directory; read by load_config_file.
  using env_file_entry = std::pair<std::string, std::filesystem::path>;
  EXPECT_EQ(cfg.program_env_files, (std::vector<env_file_entry>{{"api", "/etc/app/api.env"}}));
}

TEST(Config, DependenciesAndProbesAreRead) {
  const config cfg = parse_config(R"(
[[program]]
name = "web"
command = "run web"
depends_on = { db = "ready", migrate = "completed" }
on_dependency_failure = "skip"
[program.alive]
http = "http://localhost:8080/health"
interval = 2
timeout = 0.5
failures = 4

[[program]]
name = "db"
command = "run db"
[program.ready]
tcp = "[::1]:5432"
interval = 0.25
timeout = 30
initial_delay = 1

[[program]]
name = "migrate"
command = "run migrate"
depends_on = ["db"]
)",
                                  "p.toml");
  ASSERT_EQ(cfg.programs.size(), 3u);
  const auto& web = cfg.programs[0];
  ASSERT_EQ(web.depends_on.size(), 2u);
  EXPECT_EQ(web.depends_on[0].program, "db");
  EXPECT_EQ(web.depends_on[0].condition, dependency_condition::ready);
  EXPECT_EQ(web.depends_on[1].program, "migrate");
  EXPECT_EQ(web.depends_on[1].condition, dependency_condition::completed);
  EXPECT_EQ(web.on_dependency_failure, dependency_failure::skip);
  EXPECT_FALSE(web.ready);
  ASSERT_TRUE(web.alive);
  EXPECT_EQ(web.alive->kind, probe_kind::http);
  EXPECT_EQ(web.alive->target, "http://localhost:8080/health");
  EXPECT_EQ(web.alive->interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(web.alive->timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(web.alive_failures, 4u);
  const auto& db = cfg.programs[1];
  ASSERT_TRUE(db.ready);
  EXPECT_EQ(db.ready->kind, probe_kind::tcp);
  EXPECT_EQ(db.ready->target, "[::1]:5432");
  EXPECT_EQ(db.ready->interval, std::chrono::milliseconds(250));
  EXPECT_EQ(db.ready->timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(db.ready->initial_delay, std::chrono::milliseconds(1000));
  EXPECT_EQ(db.on_dependency_failure, dependency_failure::stop_run);
  const auto& migrate = cfg.programs[2];
  ASSERT_EQ(migrate.depends_on.size(), 1u);
  EXPECT_EQ(migrate.depends_on[0].condition, dependency_condition::ready);  // a list: ready
  // The defaults: a ready probe waits a minute, asking twice a second; an alive one gives
  // each attempt a second and gives up after 3 in a row.
  const probe defaults;
  EXPECT_EQ(defaults.interval, std::chrono::milliseconds(500));
  EXPECT_EQ(defaults.timeout, std::chrono::milliseconds(60000));
  const config alive_only = parse_config(
      "[[program]]\nname = \"a\"\ncommand = \"x\"\n[program.alive]\nexec = \"true\"\n", "a.toml");
  EXPECT_EQ(alive_only.programs[0].alive->timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(alive_only.programs[0].alive_failures, 3u);
}

TEST(Config, UnreadableFileIsAnErrorWithoutALineNumber) {
  try {
    load_config_file("/nonexistent/pipemux.toml");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/pipemux.toml: cannot read: No such file or directory");
  }
}

TEST(Config, AnEndlessFileIsReadOnlyUpToALimit) {
  try {
    load_config_file("/dev/zero");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "/dev/zero: larger than 1 MiB: not a pipemux config");
  }
}

// --- precedence: defaults < file < flags ------------------------------------------------------

class CommandLine : public ::testing::Test {
 protected:
  std::string write_config(const std::string& text) {
    // One file per test: ctest runs tests in parallel processes.
    path_ = ::testing::TempDir() + "pipemux_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    std::ofstream(path_) << text;
    return path_;
  }
  cli::command parse(std::vector<std::string> args) {
    args.insert(args.begin(), "pipemux");
    std::vector<const char*> argv;
    argv.reserve(args.size());
    for (auto& a : args) argv.push_back(a.c_str());
    std::ostringstream captured;
    auto* old = std::cerr.rdbuf(captured.rdbuf());
    auto result = cli::parse_command_line(static_cast<int>(argv.size()), argv.data());
    std::cerr.rdbuf(old);
    errors_ = captured.str();
    return result;
  }
  std::string path_;
  std::string errors_;
};

TEST_F(CommandLine, FileOverridesDefaultsAndFlagsOverrideFile) {
  const auto path =
      write_config("read_size = 32\nchildren = 3\nframing = \"raw\"\nmax_line = 99\n");
  auto from_file = parse({"--config", path});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(from_file)) << errors_;
  const config& file_cfg = std::get<cli::supervise_request>(from_file).cfg;
  EXPECT_EQ(file_cfg.run.read_size, 32u);
  EXPECT_EQ(file_cfg.children, 3u);
  EXPECT_EQ(file_cfg.run.framing, framing_mode::raw);
  EXPECT_EQ(file_cfg.run.stop_grace, std::chrono::milliseconds(5000)) << "default kept";

  auto with_flags =
      parse({"-c", path, "-n", "5", "-r", "4096", "--framing", "line", "-o", "x.log"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(with_flags)) << errors_;
  const config& cfg = std::get<cli::supervise_request>(with_flags).cfg;
  EXPECT_EQ(cfg.children, 5u);
  EXPECT_EQ(cfg.run.read_size, 4096u);
  EXPECT_EQ(cfg.run.framing, framing_mode::line);
  EXPECT_EQ(cfg.run.max_line, 99u) << "not given as a flag: the file's value stays";
  ASSERT_EQ(cfg.log.sinks.size(), 1U);
  EXPECT_EQ(cfg.log.sinks[0].path, "x.log");
}

TEST_F(CommandLine, OutputFlagsReplaceTheFilesSinksEachWithItsFormat) {
  const auto path = write_config("[[log.sink]]\npath = \"from-file.log\"\n");
  auto result = parse({"-c", path, "-o", "-", "-o", "json:run.jsonl", "-o", "text:t.log", "-o",
                       "./json:odd", "-o", "xml:x"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(result)) << errors_;
  const auto& sinks = std::get<cli::supervise_request>(result).cfg.log.sinks;
  ASSERT_EQ(sinks.size(), 5U);
  EXPECT_TRUE(sinks[0].to_stdout());
  EXPECT_FALSE(sinks[0].format.has_value());
  EXPECT_EQ(sinks[1].path, "run.jsonl");
  EXPECT_EQ(sinks[1].format, log_format_kind::json);
  EXPECT_EQ(sinks[2].path, "t.log");
  EXPECT_EQ(sinks[2].format, log_format_kind::text);
  EXPECT_EQ(sinks[3].path, "./json:odd") << "only a format's name is a prefix";
  EXPECT_EQ(sinks[4].path, "xml:x");
  EXPECT_EQ(sinks[4].origin, "--output");
  // --journal adds the journal to -o's outputs; alone, it is the only one.
  auto journal = parse({"-c", path, "--journal"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(journal)) << errors_;
  const auto& only = std::get<cli::supervise_request>(journal).cfg.log.sinks;
  ASSERT_EQ(only.size(), 1U);
  EXPECT_EQ(only[0].kind, sink_kind::journal);
  auto both = parse({"--journal", "-o", "-"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(both)) << errors_;
  EXPECT_EQ(std::get<cli::supervise_request>(both).cfg.log.sinks.size(), 2U);
  // A pattern needs a text output; with one among JSON ones it is fine.
  EXPECT_TRUE(std::holds_alternative<cli::supervise_request>(
      parse({"--log-pattern", "%v", "-o", "json:a", "-o", "b"})));
  EXPECT_EQ(std::get<int>(parse({"--log-pattern", "%v", "-o", "json:a"})), 2);
  EXPECT_NE(errors_.find("a log pattern is for text"), std::string::npos) << errors_;
}

// "json:" alone, or nothing at all, meant standard output in silence: a file was forgotten.
TEST_F(CommandLine, AnOutputWithNoFileIsRefused) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"-o", "json:"}, "-o json:: no file after 'json:' (json:- is standard output)"},
      {{"--output", "text:"}, "-o text:: no file after 'text:' (text:- is standard output)"},
      {{"-o", "run.log", "-o", ""}, "-o '': no file given (- is standard output)"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"--", "true"});
    auto result = parse(argv);
    if (!std::holds_alternative<int>(result)) {
      ADD_FAILURE() << "accepted: " << message;
      continue;
    }
    EXPECT_EQ(std::get<int>(result), cli::exit_code::usage);
    EXPECT_EQ(errors_, "pipemux: error: " + message + "\n");
  }
  auto fine = parse({"-o", "json:-", "-o", "./json:", "--", "true"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(fine)) << errors_;
  const auto& sinks = std::get<cli::supervise_request>(fine).cfg.log.sinks;
  ASSERT_EQ(sinks.size(), 2U);
  EXPECT_TRUE(sinks[0].to_stdout());
  EXPECT_EQ(sinks[1].path, "./json:");
}

TEST_F(CommandLine, ChildrenFlagWinsOverInstancesInTheFile) {
  const auto path =
      write_config("[[program]]\nname = \"a\"\ncommand = [\"true\"]\ninstances = 7\n");
  auto result = parse({"-c", path, "-n", "2"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(result)) << errors_;
  EXPECT_EQ(std::get<cli::supervise_request>(result).cfg.resolved_programs().at(0).instances, 2u);
}

TEST_F(CommandLine, CommandAfterDoubleDashReplacesPrograms) {
  auto result = parse({"-n", "3", "--", "sleep", "-v", "1"});
  ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(result)) << errors_;
  const auto programs = std::get<cli::supervise_request>(result).cfg.resolved_programs();
  ASSERT_EQ(programs.size(), 1u);
  EXPECT_EQ(programs[0].name, "sleep");
  EXPECT_EQ(programs[0].argv, (std::vector<std::string>{"sleep", "-v", "1"}));
  EXPECT_EQ(programs[0].instances, 3u);
}

TEST_F(CommandLine, BadFlagsExitTwoWithOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--read-size", "0"},
                                                                {"-n", "0"},
                                                                {"--framing", "words"},
                                                                {"--cgroup", "yes"},
                                                                {"--bogus"},
                                                                {"--config", "/nonexistent.toml"},
                                                                {"-n", "lots"},
                                                                {"--stop-grace", "nan"},
                                                                {"--stop-grace", "inf"},
                                                                {"--stop-grace", "-0.5"},
                                                                {"--stop-grace", "3600.5"}}) {
    auto result = parse(args);
    ASSERT_TRUE(std::holds_alternative<int>(result)) << args[0];
    EXPECT_EQ(std::get<int>(result), cli::exit_code::usage) << args[0];
    EXPECT_EQ(errors_.rfind("pipemux: error: ", 0), 0u) << errors_;
    EXPECT_EQ(std::count(errors_.begin(), errors_.end(), '\n'), 1) << errors_;
  }
}

// Seconds are plain decimal on the command line (no hex, sign, space or exponent), and a flag
// and the config round them alike: to the nearest millisecond, a half up, as written.
TEST_F(CommandLine, SecondsArePlainDecimalRoundedToTheMillisecondLikeTheConfigs) {
  for (const std::string bad : {"0x10", " 1", "1 ", "+1", "1e-3", ".5", "5.", "1,5", "", "inf"}) {
    auto result = parse({"--stop-grace", bad, "--", "true"});
    if (!std::holds_alternative<int>(result)) {
      ADD_FAILURE() << "accepted: '" << bad << "'";
      continue;
    }
    EXPECT_EQ(std::get<int>(result), cli::exit_code::usage);
    EXPECT_EQ(errors_,
              "pipemux: error: --stop-grace: not a plain decimal number of seconds "
              "(such as 5 or 0.25): '" +
                  bad + "' (see pipemux --help)\n");
  }
  const std::pair<const char*, long long> cases[] = {
      {"5", 5000},     {"0.5", 500},      {"1.001", 1001},   {"0.0015", 2},
      {"0.5005", 501}, {"1.0005", 1001},  {"0.0004999", 0},  {"0.0005", 1},
      {"0", 0},        {"3600", 3600000}, {"2.71828", 2718}, {"0.29", 290}};
  for (const auto& [text, millis] : cases) {
    auto flag = parse({"--stop-grace", text, "--", "true"});
    ASSERT_TRUE(std::holds_alternative<cli::supervise_request>(flag)) << text << ": " << errors_;
    EXPECT_EQ(std::get<cli::supervise_request>(flag).cfg.run.stop_grace.count(), millis) << text;
    const config file = parse_config(
        fmt::format("stop_grace = {0}\nrestart_delay = {0}\nrestart_max_delay = {0}\n"
                    "[[program]]\nname = \"x\"\ncommand = \"x\"\nstop_grace = {0}\n",
                    std::string(text).find('.') == std::string::npos ? std::string(text) + ".0"
                                                                     : std::string(text)),
        "c.toml");
    EXPECT_EQ(file.run.stop_grace.count(), millis) << text;
    EXPECT_EQ(file.run.restart.initial_delay.count(), millis) << text;
    EXPECT_EQ(file.run.restart.max_delay.count(), millis) << text;
    EXPECT_EQ(file.programs.at(0).stop_grace->count(), millis) << text;
  }
}

// A stop signal must be able to end a process: one that stops (pauses), continues or is
// ignored by default would leave every child running until SIGKILL.
TEST_F(CommandLine, AStopSignalThatCannotEndAProcessIsRefusedSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"SIGSTOP", "SIGSTOP pauses a process by default, it does not end it"},
      {"tstp", "SIGTSTP pauses a process by default, it does not end it"},
      {"TTIN", "SIGTTIN pauses a process by default, it does not end it"},
      {"SIGTTOU", "SIGTTOU pauses a process by default, it does not end it"},
      {"SIGCONT", "SIGCONT resumes a paused process by default, it does not end it"},
      {"17", "SIGCHLD is ignored by default: it does not end a process"},
      {"URG", "SIGURG is ignored by default: it does not end a process"},
      {"SIGWINCH", "SIGWINCH is ignored by default: it does not end a process"},
  };
  for (const auto& [name, reason] : cases) {
    auto result = parse({"--stop-signal", name, "--", "true"});
    if (!std::holds_alternative<int>(result)) {
      ADD_FAILURE() << "accepted: " << name;
      continue;
    }
    EXPECT_EQ(errors_, std::string("pipemux: error: --stop-signal: ") + reason +
                           " (give SIGTERM, SIGINT, SIGQUIT, SIGHUP, ...) (see pipemux --help)\n");
  }
  for (const char* fine : {"SIGINT", "QUIT", "HUP", "USR1", "9", "alrm"})
    EXPECT_TRUE(std::holds_alternative<cli::supervise_request>(
        parse({"--stop-signal", fine, "--", "true"})))
        << fine << ": " << errors_;
}

// spdlog writes nothing for a '%' at the end, and a pattern without %v logs no child's text:
// both gave empty or useless lines.
TEST_F(CommandLine, ALogPatternEndingInALonePercentOrWithoutTheMessageIsRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {"%", "ends in '%' with no flag after it (%% is a percent sign)"},
      {"%L %v 100%", "ends in '%' with no flag after it (%% is a percent sign)"},
      {"%v %-12", "ends in '%-12' with no flag after it (%% is a percent sign)"},
      {"%L %N", "has no %v: the children's text would not be logged"},
      {"%L %%v", "has no %v: the children's text would not be logged"},
  };
  for (const auto& [pattern, reason] : cases) {
    auto result = parse({"--log-pattern", pattern, "--", "true"});
    if (!std::holds_alternative<int>(result)) {
      ADD_FAILURE() << "accepted: " << pattern;
      continue;
    }
    EXPECT_EQ(errors_,
              std::string("pipemux: error: --log-pattern: ") + reason + " (see pipemux --help)\n");
  }
  for (const char* fine : {"%v", "%-20v", "%10!v|", "100%% %L %v", "%=8v %%"})
    EXPECT_TRUE(std::holds_alternative<cli::supervise_request>(
        parse({"--log-pattern", fine, "--", "true"})))
        << fine << ": " << errors_;
}

TEST_F(CommandLine, ConfigErrorExitsTwoNamingTheFile) {
  const auto path = write_config("children = 0\n");
  auto result = parse({"--config", path});
  ASSERT_TRUE(std::holds_alternative<int>(result));
  EXPECT_EQ(std::get<int>(result), cli::exit_code::usage);
  EXPECT_NE(errors_.find(path + ":1:12: children: must be between 1 and 4096 (got 0)"),
            std::string::npos)
      << errors_;
}

TEST_F(CommandLine, SpamSubcommand) {
  auto result = parse({"spam", "--count", "3", "--interval", "0", "--sequence", "--index", "4"});
  ASSERT_TRUE(std::holds_alternative<cli::spam_request>(result)) << errors_;
  const auto& spam = std::get<cli::spam_request>(result);
  EXPECT_EQ(spam.options.count, 3u);
  EXPECT_EQ(spam.options.interval, 0.0);
  EXPECT_TRUE(spam.options.sequence);
  EXPECT_EQ(spam.index, 4);
}

TEST(ShellCommand, NamedAfterTheProgramItStarts) {
  const std::pair<const char*, const char*> cases[] = {
      {"npm run api", "npm"},
      {"  /usr/bin/python3 -m http.server", "python3"},
      {"FOO=1 BAR_2=x exec ./bin/api --port 80", "api"},
      {"ls;echo done", "ls"},
      {"make>log", "make"},
      {"(cd web && make)", "sh"},
      {"'my prog' --flag", "sh"},
      {"$EDITOR file", "sh"},
      {"", "sh"},
      {"  \t ", "sh"},
      {"FOO=1", "sh"},
      {"=x run", "=x"},
  };
  for (const auto& [line, name] : cases) EXPECT_EQ(default_program_name(line), name) << line;
  const program_spec spec = shell_program("npm run api");
  EXPECT_EQ(spec.name, "npm");
  EXPECT_EQ(spec.argv, (std::vector<std::string>{"/bin/sh", "-c", "npm run api"}));
  EXPECT_EQ(default_program_name(std::vector<std::string>{"/usr/bin/env", "x"}), "env");
  EXPECT_EQ(default_program_name(std::vector<std::string>{}), "program");
}

TEST(ShellCommand, RepeatedNamesGetANumberThatIsFree) {
  std::vector<program_spec> programs(5);
  const char* names[] = {"a", "a", "a-2", "b", "a"};
  for (std::size_t i = 0; i < programs.size(); ++i) programs[i].name = names[i];
  make_names_unique(programs);
  std::vector<std::string> got;
  got.reserve(programs.size());
  for (const auto& spec : programs) got.push_back(spec.name);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "a-3", "a-2", "b", "a-4"}));
}

TEST(Procfile, NamesAndCommandLinesInOrderCommentsAndBlankLinesSkipped) {
  const auto programs = parse_procfile(
      "# the app\n\nweb: bundle exec rails server -p $PORT\r\n  # indented comment\n"
      "worker:python3 -m worker   \nclock_2-x:\t./clock.sh",
      "Procfile");
  ASSERT_EQ(programs.size(), 3u);
  const std::pair<const char*, const char*> expected[] = {
      {"web", "bundle exec rails server -p $PORT"},
      {"worker", "python3 -m worker"},
      {"clock_2-x", "./clock.sh"}};
  for (std::size_t i = 0; i < programs.size(); ++i) {
    EXPECT_EQ(programs[i].name, expected[i].first);
    EXPECT_EQ(programs[i].argv, (std::vector<std::string>{"/bin/sh", "-c", expected[i].second}));
    EXPECT_EQ(programs[i].instances, 0u) << "unset: -n, the formation or `children` decide";
  }
}

// foreman's `NAME:\s*(.+)` takes \v, \f and \r after the colon as whitespace, and skips a
// line of them as it skips a blank one; after them, a command must remain.
TEST(Procfile, VerticalTabFormFeedAndCarriageReturnAreWhitespaceAsForForeman) {
  const auto programs =
      parse_procfile("web:\v\f\r echo hi\n\f\n \v\t\nworker: \fpython3 w.py\n", "Procfile");
  ASSERT_EQ(programs.size(), 2u);
  EXPECT_EQ(programs[0].argv, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(programs[1].argv, (std::vector<std::string>{"/bin/sh", "-c", "python3 w.py"}));
  for (const char* only_whitespace : {"web: \v\f\n", "web:\f\n", "web:\v \t\n"}) {
    try {
      parse_procfile(only_whitespace, "Procfile");
      ADD_FAILURE() << "accepted: " << escaped(only_whitespace);
    } catch (const config_error& e) {
      EXPECT_STREQ(e.what(), "Procfile:1:5: web has no command");
    }
  }
}

TEST(Procfile, EachMistakeIsNamedWithItsLineAndColumn) {
  const std::pair<std::string, std::string> cases[] = {
      {"web: a\nweb server: b\n",
       "Procfile:2:4: expected ':' after the name web (a name is "
       "letters, digits, '_' and '-')"},
      {"web: a\n\nweb: b\n", "Procfile:3:1: web is defined twice (first on line 1)"},
      {"web:   \n", "Procfile:1:5: web has no command"},
      {"  web: a\n",
       "Procfile:1:1: a line must start with the program's name, in the first "
       "column"},
      {"web: a\n: b\n",
       "Procfile:2:1: expected NAME: COMMAND, with a name of letters, digits, '_' and '-' (got "
       "':')"},
      {"=web: a\n",
       "Procfile:1:1: expected NAME: COMMAND, with a name of letters, digits, '_' "
       "and '-' (got '=')"},
      {std::string("web: a\0b\n", 9), "Procfile:1:7: a NUL byte: not a Procfile"},
      {"# only a comment\n\n", "Procfile: no programs in it"},
  };
  for (const auto& [text, message] : cases) {
    try {
      parse_procfile(text, "Procfile");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const config_error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

}  // namespace
}  // namespace pipemux
