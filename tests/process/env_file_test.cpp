// Tests for include/pipemux/env_file.hpp: .env files read exactly as python-dotenv (Debian's
// python3-dotenv, the reference) reads them, compared over many files, tricky ones included.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "pipemux/config.hpp"
#include "pipemux/env_file.hpp"
#include "pipemux/escape.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {

using variables = std::map<std::string, std::string>;

// The environment both parsers resolve ${NAME} against.
const std::map<std::string, std::string> fixed_environment = {
    {"HOME_DIR", "/home/pat"}, {"EMPTY", ""}, {"WITH_SPACE", "a b"}};

std::optional<std::string> fixed_lookup(const std::string& name) {
  const auto it = fixed_environment.find(name);
  return it == fixed_environment.end() ? std::nullopt : std::optional<std::string>(it->second);
}

// Ours: the variables, or nullopt for a config_error.
std::optional<variables> ours(const std::string& text) {
  try {
    const auto list = parse_env_file(text, "test.env", fixed_lookup);
    return variables(list.begin(), list.end());
  } catch (const config_error&) {
    return std::nullopt;
  }
}

// python-dotenv's, for many files at once (one python3 run): each file is written to disk
// and read by dotenv_values() as a user's would be; a file with a line it could not parse (it
// warns and skips the line) counts as an error. Values are hex-encoded to come back intact.
std::vector<std::optional<variables>> reference(const std::vector<std::string>& texts) {
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    paths.push_back(test::temp_path("dotenv_" + std::to_string(i) + ".env"));
    std::ofstream(paths.back(), std::ios::binary) << texts[i];
  }
  const std::string script = test::temp_path("dotenv_reference.py");
  std::ofstream(script) << R"(import sys
from dotenv import dotenv_values
from dotenv.parser import parse_stream
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            if any(b.error for b in parse_stream(f)):
                print("error")
                continue
    except UnicodeDecodeError:
        print("error")
        continue
    values = dotenv_values(path)
    if any("=" in k for k, v in values.items() if v is not None):
        print("error")  # os.environ refuses such a name
        continue
    print(" ".join(k.encode().hex() + "=" + v.encode().hex()
                   for k, v in values.items() if v is not None) or "-")
)";
  std::vector<std::string> argv = {"/usr/bin/env", "-i"};
  for (const auto& [k, v] : fixed_environment) argv.push_back(fmt::format("{}={}", k, v));
  argv.insert(argv.end(), {"/usr/bin/python3", script});
  argv.insert(argv.end(), paths.begin(), paths.end());
  const auto result = test::run_command(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto unhex = [](const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
  };
  std::vector<std::optional<variables>> out;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    if (line == "error") {
      out.emplace_back(std::nullopt);
      continue;
    }
    variables values;
    std::istringstream pairs(line == "-" ? "" : line);
    for (std::string pair; pairs >> pair;) {
      const auto equals = pair.find('=');
      values[unhex(pair.substr(0, equals))] = unhex(pair.substr(equals + 1));
    }
    out.emplace_back(std::move(values));
  }
  return out;
}

void expect_same_as_reference(const std::vector<std::string>& texts) {
  const auto expected = reference(texts);
  ASSERT_EQ(expected.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto got = ours(texts[i]);
    EXPECT_EQ(got.has_value(), expected[i].has_value()) << "file: " << escaped(texts[i]);
    if (got && expected[i]) EXPECT_EQ(*got, *expected[i]) << "file: " << escaped(texts[i]);
  }
}

TEST(EnvFile, ReadsWhatPythonDotenvReadsInTheCasesThatMatter) {
  expect_same_as_reference({
      "A=1\nB=two words\nexport C=3\n",
      "# comment\n\n  A=1  # trailing comment\nB=x#not a comment\nC=x #a comment\n",
      "A='single $HOME_DIR \\n \\' \\\\ end'\nB=\"double \\n \\t \\\" \\\\ \\a \\x\"\n",
      "A=\"multi\nline\nvalue\"\nB='also\nmulti'\n",
      "A=${HOME_DIR}/x\nB=${MISSING:-fallback}\nC=${EMPTY:-not used}\nD=${A}/y\n",
      "A=$HOME_DIR ${ B}=${NOPE}${\nC=${A:b}\n",
      "KEY_ONLY\nA=${KEY_ONLY:-def}\nHOME_DIR\nB=${HOME_DIR}\n",
      "A=1\nA=2\nB=${A}\n",
      "'quoted key'=v\n'x'=\"y\"\n",
      "A=\r\nB=crlf\r\nC=\"x\r\ny\"\rD=cr\r",
      "export  A=spaces after export\nexportB=1\nexport=2\n",
      "A = spaced = equals\nB= \t lead\nC=trail \t \n",
      "A='unclosed\nB=1\n",
      "A=\"x\" junk\n",
      "=novalue\n",
      "A B=1\n",
      "A='x\\' y\\'\n",
      "A='x\\'\nB=\\'\n",
      "A=\"\"\nB=''\nC=\n",
      "A=caf\xc3\xa9\xc2\xa0#nbsp then hash\nB=x\xe3\x80\x80\n",
      "\x1c A=1\nB=\x0b\x32\x0c\n",  // \x32 is '2'
      "A=\xff\n",                    // not UTF-8: Python cannot read it at all
      "A=${WITH_SPACE}\n",
      "A=#x\nB= #x\nC=\"#x\" #y\n",
  });
}

TEST(EnvFile, ReadsWhatPythonDotenvReadsInRandomFiles) {
  // Lines built from the pieces that matter to the grammar, many at random.
  const std::vector<std::string> pieces = {
      "A",  "B",   "export ", "=",   " ",    "\t",      "#",           "'",  "\"",
      "\\", "\\'", "\\\"",    "\\n", "${A}", "${B:-d}", "${HOME_DIR}", "${", "}",
      ":-", "x",   "y z",     "\n",  "\r\n", "\r",      "\xc2\xa0"};
  std::mt19937 rng(2026);
  std::vector<std::string> texts;
  for (int i = 0; i < 1500; ++i) {
    std::string text;
    const int length = static_cast<int>(rng() % 14);
    for (int k = 0; k < length; ++k) text += pieces[rng() % pieces.size()];
    texts.push_back(text);
  }
  expect_same_as_reference(texts);
}

// getenv("E3=a") finds "E3=a=b" (a prefix of it, then '='), where Python's os.environ has
// only "E3" and gives nothing: pipemux never looks up a name holding '='.
TEST(EnvFile, ANameHoldingEqualsIsNotLookedUpInTheEnvironment) {
  const std::string path = test::temp_path("equals_in_name.env");
  std::ofstream(path) << "k=${E3=a}\nd=${E3=a:-fallback}\nv=${E3}\n";
  const std::string script =
      "import sys\nfrom dotenv import dotenv_values\nv = dotenv_values(sys.argv[1])\n"
      "print('[' + '|'.join(v[k] for k in ('k', 'd', 'v')) + ']')";
  const auto python =
      test::run_command({"/usr/bin/env", "E3=a=b", "/usr/bin/python3", "-c", script, path});
  ASSERT_EQ(python.exit_code, 0) << python.err;
  EXPECT_EQ(python.out, "[|fallback|a=b]\n");
  const auto ours = test::run_command({"/usr/bin/env", "E3=a=b", test::pipemux_exe(), "-e", path,
                                       "printf '[%s|%s|%s]\\n' \"$k\" \"$d\" \"$v\""});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  EXPECT_NE(ours.out.find(" out | " + python.out), std::string::npos) << ours.out;
}

TEST(EnvFile, ErrorsNameTheLineAndColumn) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"A=1\nB=\"x\" junk\n", "test.env:2:7: expected a line end after the value, got 'j'"},
      {"A=1\n\nB C\n", "test.env:3:3: expected '=', got 'C'"},
      {"A=1\nB='open\n", "test.env:2:3: the value's quote ' is never closed"},
      {"=x\n", "test.env:1:1: expected a variable name, got '='"},
      {"'A=B'=c\n", "test.env:1:1: 'A=B' holds '=': not a variable name an environment can hold"},
      {std::string("A=1\nB=x\0y\n", 10), "test.env:2:4: a NUL byte: not a .env file"},
      {"A=1\nB=caf\xc3\n", "test.env:2:6: not UTF-8 text"},
  };
  // Each line doubling the one before: the 16th would pass 1 MiB (python-dotenv goes on).
  std::string doubling = "A0=" + std::string(64, 'x') + "\n";
  for (int k = 1; k < 30; ++k) doubling += fmt::format("A{}=${{A{}}}${{A{}}}\n", k, k - 1, k - 1);
  cases.emplace_back(doubling,
                     "test.env:16:1: 'A15' is longer than 1 MiB once its ${...} are replaced");
  for (const auto& [text, message] : cases) {
    try {
      parse_env_file(text, "test.env", fixed_lookup);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const config_error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

}  // namespace
}  // namespace pipemux
