// --format json, end to end: every line is parsed by a real JSON parser (Python's, strict),
// and each child's bytes, binary included, are rebuilt from the messages exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "run_command.hpp"

namespace pipemux {
namespace {
using test::pipemux_exe;
using test::run_command;

// Reads JSON lines from argv[1]; for each child and stream, joins its output messages (text
// or base64) with a newline after each "line", and compares with the file named by
// argv[2+k] for the k-th "name.index/stream" given in argv as "key=path". Prints one verdict
// per key and what is wrong with any line.
constexpr const char* checker = R"PY(
import base64, json, re, sys
log, expected = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
rebuilt, reports = {}, []
time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
with open(log, "rb") as f:
    for n, raw in enumerate(f, 1):
        obj = json.loads(raw.decode("utf-8"))  # strict: the whole line is one object
        assert raw.endswith(b"}\n"), f"line {n}: not one object per line"
        assert time.match(obj["time"]), f"line {n}: time {obj['time']}"
        if "stream" not in obj:
            reports.append(obj)
            continue
        if "message" in obj:
            data = obj["message"].encode("utf-8")
            assert "message_base64" not in obj
        else:
            data = base64.b64decode(obj["message_base64"], validate=True)
            try:
                data.decode("utf-8")
                print(f"line {n}: valid UTF-8 sent as base64")
            except UnicodeDecodeError:
                pass
        key = f"{obj['name']}.{obj['index']}/{obj['stream']}"
        assert obj["kind"] in ("line", "piece", "partial", "raw"), obj["kind"]
        rebuilt[key] = rebuilt.get(key, b"") + data + (b"\n" if obj["kind"] == "line" else b"")
for key, path in expected.items():
    want = open(path, "rb").read()
    got = rebuilt.get(key, b"")
    print(key, "exact" if got == want else f"differs: {len(got)} bytes against {len(want)}")
kinds = sorted({r["kind"] for r in reports})
print("reports", ",".join(kinds))
exits = [r for r in reports if r["kind"] == "exit"]
print("exit codes", ",".join(str(r.get("code")) for r in sorted(exits, key=lambda r: r["index"])))
print("run times", all(isinstance(r["run_time_s"], float) for r in exits))
summaries = [r for r in reports if r["kind"] == "summary"]
print("summary bytes", ",".join(str(r["bytes"]) for r in sorted(summaries, key=lambda r: r["index"])))
)PY";

std::string write_bytes(const std::string& name, const std::string& bytes) {
  std::string path = test::temp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(JsonLines, EveryLineParsesAndEveryChildsBytesComeBackExactly) {
  std::mt19937 random(20261130);
  std::string binary(30000, '\0');
  for (char& c : binary) c = static_cast<char>(random() & 0xFF);
  const std::string text =
      "plain\n\"quoted\" \\ back\\slash\ttab\n\x01\x1b[31mcontrol\x7f\n" + std::string(350, 'x') +
      "\ncaf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n\xed\xa0\x80 a surrogate is not UTF-8\n"
      "\xc2\x85 a C1 control is\nno newline at the end";
  const std::string on_err = "to stderr\nand \xff more\n";
  const std::string binary_path = write_bytes("binary.bin", binary);
  const std::string text_path = write_bytes("text.txt", text);
  const std::string err_path = write_bytes("err.txt", on_err);
  const std::string log = test::temp_path("run.jsonl");
  const auto result = run_command({pipemux_exe(), "--format", "json", "--max-line", "100", "-o",
                                   log, "--names", "bin,txt", "cat '" + binary_path + "'",
                                   "cat '" + text_path + "'; cat '" + err_path + "' >&2; exit 3"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  const std::string empty = write_bytes("empty", "");
  const auto check =
      run_command({"python3", "-c", checker, log, "bin.0/out=" + binary_path, "bin.0/err=" + empty,
                   "txt.1/out=" + text_path, "txt.1/err=" + err_path});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out,
            "bin.0/out exact\n"
            "bin.0/err exact\n"
            "txt.1/out exact\n"
            "txt.1/err exact\n"
            "reports exit,start,summary\n"
            "exit codes 0,3\n"
            "run times True\n"
            "summary bytes " +
                std::to_string(binary.size()) + "," + std::to_string(text.size() + on_err.size()) +
                "\n")
      << check.out;
}

TEST(JsonLines, PipemuxsOwnLinesAndRawReadsAreObjectsToo) {
  const std::string log = test::temp_path("raw.jsonl");
  const auto result = run_command({pipemux_exe(), "--format", "json", "--framing", "raw", "-o", log,
                                   "--", "pipemux-no-such-program"});
  EXPECT_EQ(result.exit_code, 3);
  const auto check = run_command({"python3", "-c",
                                  "import json,sys\n"
                                  "for line in open(sys.argv[1]):\n"
                                  "    o = json.loads(line)\n"
                                  "    print(o['name'], o['kind'], o['level'], o['message'])\n",
                                  log});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("pipemux-no-such-program error error cannot start "
                           "'pipemux-no-such-program': not found in PATH\n"),
            std::string::npos)
      << check.out;

  const auto both = run_command({pipemux_exe(), "--format", "json", "--log-pattern", "%v", "true"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("a log pattern is for text"), std::string::npos) << both.err;
}

}  // namespace
}  // namespace pipemux
