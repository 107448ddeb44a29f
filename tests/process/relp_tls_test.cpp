// --syslog-to relp:// over TLS (librelp's own, GnuTLS) to a real rsyslogd, with certificates
// made by openssl in the test: the right one delivers every line, a wrong name or another CA is
// refused in one line, and options that cannot work are a usage error.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "relp_delivery.hpp"
#include "rsyslog_server.hpp"
#include "run_command.hpp"
#include "test_certificates.hpp"

namespace pipemux {
namespace {
using namespace std::chrono_literals;
using test::certificates;
using test::check;
using test::delivery;
using test::has_summaries;
using test::imrelp_installed;
using test::pipemux_exe;
using test::read_file;
using test::rsyslog;
using test::run_command;
using test::spam;

// imrelp over TLS with `server`'s certificate, asking for the client's: one that `ca` signed,
// naming "pipemux.client".
std::string tls_input(const certificates& made, const std::string& server) {
  return "tls=\"on\" tls.caCert=\"" + made.path("ca", "pem") + "\" tls.myCert=\"" +
         made.path(server, "pem") + "\" tls.myPrivKey=\"" + made.path(server, "key") +
         "\" tls.authMode=\"name\" tls.permittedPeer=[\"pipemux.client\"]";
}

// pipemux's TLS flags: the CA, and its certificate for the server that asks.
std::vector<std::string> tls_flags(const certificates& made) {
  return {"--syslog-tls-ca",          made.path("ca", "pem"), "--syslog-tls-cert",
          made.path("client", "pem"), "--syslog-tls-key",     made.path("client", "key")};
}

TEST(Relp, OverTlsAServerWhoseCertificateNamesItsHostGetsEveryLine) {
  if (!imrelp_installed()) GTEST_SKIP() << "rsyslog-relp is not installed (scripts/setup does)";
  const certificates made(test::temp_path("relp-tls-certs"));
  ASSERT_TRUE(made.make_ca("ca") && made.make("server", "127.0.0.1", "ca") &&
              made.make("client", "pipemux.client", "ca"));
  rsyslog server("relp-tls", rsyslog::listening::relp, tls_input(made, "server"));
  ASSERT_TRUE(server.start()) << server.startup_log();
  constexpr int children = 3, count = 20000;
  std::vector<std::string> argv{pipemux_exe(), "--syslog-to",
                                "relp://127.0.0.1:" + std::to_string(server.port())};
  for (const auto& flag : tls_flags(made)) argv.push_back(flag);
  for (const std::string word : {"--names", "tls", "-n", "3"}) argv.emplace_back(word);
  argv.push_back(spam(count));
  test::command_options options;
  options.timeout = 160s;  // held, not ended, if TLS does not work (41 s seen under TSan)
  const auto result = run_command(argv, options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, test::clean_report("relp://127.0.0.1:" + std::to_string(server.port()),
                                           children * (count + 3)));
  ASSERT_TRUE(has_summaries(
      server.received_until([](const std::string& text) { return has_summaries(text, 3); }),
      children))
      << server.startup_log();
  const delivery got = check(server, "tls", children, count);
  EXPECT_EQ(got.missing, 0U) << got.text;
  EXPECT_EQ(got.twice, 0U) << got.text;
  EXPECT_TRUE(got.ordered) << got.text;
  EXPECT_EQ(got.malformed, 0U) << got.text;
}

// A certificate for another name, or from a CA that is not the one given: refused, said in one
// line, and nothing is sent (the lines are counted as not sent at the end, exit 5).
TEST(Relp, OverTlsAWrongNameOrAnotherCaIsRefusedWithOneClearLine) {
  if (!imrelp_installed()) GTEST_SKIP() << "rsyslog-relp is not installed (scripts/setup does)";
  const certificates made(test::temp_path("relp-tls-wrong"));
  ASSERT_TRUE(
      made.make_ca("ca") && made.make_ca("other") && made.make("client", "pipemux.client", "ca") &&
      made.make("misnamed", "logs.example", "ca") && made.make("foreign", "127.0.0.1", "other"));
  for (const std::string server_certificate : {"misnamed", "foreign"}) {
    rsyslog server("relp-tls-" + server_certificate, rsyslog::listening::relp,
                   tls_input(made, server_certificate));
    ASSERT_TRUE(server.start()) << server.startup_log();
    std::vector<std::string> argv{pipemux_exe(), "--syslog-to",
                                  "relp://127.0.0.1:" + std::to_string(server.port())};
    for (const auto& flag : tls_flags(made)) argv.push_back(flag);
    for (const std::string word : {"--names", "refused", "echo secret"}) argv.emplace_back(word);
    const auto result = run_command(argv);
    EXPECT_EQ(result.exit_code, 5) << server_certificate << ": " << result.err;
    const std::string refused =
        "pipemux: warning: syslog relp://127.0.0.1:" + std::to_string(server.port()) +
        ": cannot connect: TLS: ";
    EXPECT_EQ(result.err.rfind(refused, 0), 0U) << server_certificate << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 4)
        << server_certificate
        << ": one line for the refusal, two for the count at the end, the report: " << result.err;
    EXPECT_NE(result.err.find("log messages could not be sent to syslog relp://"),
              std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("4 messages, 0 acknowledged, 0 sent again, 4 dropped, 0 sessions\n"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(read_file(server.dir() + "/out.log").find("secret"), std::string::npos);
    std::cout << server_certificate << ": " << result.err;
  }
}

TEST(Relp, TlsOptionsThatCannotWorkAreAUsageErrorNamingTheProblem) {
  const std::string dir = test::temp_path("relp-tls-usage");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/ca.pem") << "not read before the run\n";
  const std::string ca = dir + "/ca.pem";
  struct bad_use {
    std::vector<std::string> flags;
    std::string said;
  };
  for (const auto& [flags, said] : std::vector<bad_use>{
           {{"--syslog-to", "tcp://127.0.0.1", "--syslog-tls-ca", ca},
            "TLS is for a tls:// or relp:// address (tcp:// is plain TCP: tls://HOST[:PORT] is "
            "TCP with TLS)"},
           {{"--syslog-to", "relp://127.0.0.1", "--syslog-tls-ca", dir + "/none.pem"},
            "cannot read \"" + dir + "/none.pem\": No such file or directory"},
           {{"--syslog-to", "relp://127.0.0.1", "--syslog-tls-ca", ca, "--syslog-tls-cert", ca},
            "a client certificate goes with its key: both or neither (tls_cert, tls_key)"},
           {{"--syslog-to", "relp://127.0.0.1", "--syslog-tls-key", ca},
            "TLS needs the CA that signed the server's certificate (tls_ca)"}}) {
    std::vector<std::string> argv{pipemux_exe()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.emplace_back("echo never");
    const auto result = run_command(argv);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "pipemux: error: --syslog-tls-ca/-cert/-key: " + said + "\n");
  }
}

}  // namespace
}  // namespace pipemux
