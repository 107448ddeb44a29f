// --syslog-to tls:// (RFC 5425: syslog over TCP with TLS, through Asio and OpenSSL) to a real
// rsyslogd (imtcp with the gtls driver), with certificates made by openssl in the test: the right
// one delivers every line once, in order; a wrong name or another CA is refused in one line and
// nothing is sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
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
using test::pipemux_exe;
using test::read_file;
using test::rsyslog;
using test::run_command;

bool gtls_installed() {
  return test::rsyslogd_installed() &&
         std::system("ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1") == 0;
}

// imtcp's driver takes `server`'s certificate and key (and the CA).
std::string driver_files(const certificates& made, const std::string& server) {
  return "DefaultNetstreamDriverCAFile=\"" + made.path("ca", "pem") +
         "\" DefaultNetstreamDriverCertFile=\"" + made.path(server, "pem") +
         "\" DefaultNetstreamDriverKeyFile=\"" + made.path(server, "key") + "\"";
}

std::string spam(int count) {
  return pipemux_exe() + " spam --count " + std::to_string(count) + " --interval 0 --sequence";
}

TEST(SyslogTls, AServerWhoseCertificateNamesItsHostGetsEveryLineOnceInOrder) {
  if (!gtls_installed()) GTEST_SKIP() << "rsyslog-gnutls is not installed (scripts/setup does)";
  const certificates made(test::temp_path("syslog-tls-certs"));
  ASSERT_TRUE(made.make_ca("ca") && made.make("server", "localhost", "ca") &&
              made.make("client", "pipemux.client", "ca"));
  rsyslog server("syslog-tls", rsyslog::listening::tls, driver_files(made, "server"));
  ASSERT_TRUE(server.start()) << server.startup_log();
  constexpr int children = 3, count = 20000;
  constexpr int messages = children * (count + 3);  // a start, an exit and a summary each
  const std::string address = "tls://localhost:" + std::to_string(server.port());
  test::command_options options;
  options.timeout = 120s;  // held, not ended, if TLS does not work
  const auto result = run_command(
      {pipemux_exe(), "--syslog-to", address, "--syslog-tls-ca", made.path("ca", "pem"),
       "--syslog-tls-cert", made.path("client", "pem"), "--syslog-tls-key",
       made.path("client", "key"), "--names", "tls", "-n", std::to_string(children), spam(count)},
      options);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // Every message acknowledged by the server's TCP, as over plain TCP (TLS records counted).
  EXPECT_EQ(result.err, test::clean_report(address, messages));
  const std::string text = server.received_until(
      [](const std::string& got) { return std::count(got.begin(), got.end(), '\n') >= messages; },
      60s);
  const test::text_delivery got = test::check_text(text, "tls", children, count);
  EXPECT_EQ(got.missing, 0U);
  EXPECT_EQ(got.twice, 0U);
  EXPECT_TRUE(got.ordered);
  EXPECT_EQ(server.startup_log().find("error"), std::string::npos) << server.startup_log();
}

TEST(SyslogTls, AWrongNameOrAnotherCaIsRefusedWithOneClearLineAndNothingIsSent) {
  if (!gtls_installed()) GTEST_SKIP() << "rsyslog-gnutls is not installed (scripts/setup does)";
  const certificates made(test::temp_path("syslog-tls-refused"));
  ASSERT_TRUE(made.make_ca("ca") && made.make_ca("other") &&
              made.make("misnamed", "logs.example", "ca") &&
              made.make("foreign", "localhost", "other"));
  for (const auto& [server_certificate, reason] :
       {std::pair<std::string, std::string>{"misnamed", "hostname mismatch"},
        std::pair<std::string, std::string>{"foreign", "unable to get local issuer certificate"}}) {
    rsyslog server("syslog-tls-" + server_certificate, rsyslog::listening::tls,
                   driver_files(made, server_certificate));
    ASSERT_TRUE(server.start()) << server.startup_log();
    const std::string address = "tls://localhost:" + std::to_string(server.port());
    const auto result = run_command({pipemux_exe(), "--syslog-to", address, "--syslog-tls-ca",
                                     made.path("ca", "pem"), "--names", "refused", "echo secret"});
    EXPECT_EQ(result.exit_code, 5) << server_certificate << ": " << result.err;
    // Not connected: the messages wait in the buffer, and are counted at the end.
    std::string refused = "syslog " + address;
    refused += ": dropping messages: not connected (TLS: the server's certificate: ";
    refused += reason;
    refused += ")";
    EXPECT_NE(result.err.find(refused), std::string::npos)
        << server_certificate << ": " << result.err;
    EXPECT_NE(result.err.find(" 0 acknowledged by the server's TCP, 0 sent again, 4 dropped, 0 "
                              "connections\n"),
              std::string::npos)
        << result.err;
    EXPECT_EQ(read_file(server.dir() + "/out.log").find("secret"), std::string::npos);
    std::cout << server_certificate << ": " << result.err;
  }
}

// Options that cannot work stop the run at once: TLS files for plain tcp://, a CA file that is
// not PEM (said by OpenSSL, naming the file).
TEST(SyslogTls, TlsFilesThatCannotWorkAreOneLineAndExitCodeTwo) {
  const std::string dir = test::temp_path("syslog-tls-usage");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/ca.pem") << "not a certificate\n";
  const auto plain = run_command({pipemux_exe(), "--syslog-to", "tcp://127.0.0.1",
                                  "--syslog-tls-ca", dir + "/ca.pem", "echo never"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_EQ(plain.err,
            "pipemux: error: --syslog-tls-ca/-cert/-key: TLS is for a tls:// or relp:// address "
            "(tcp:// is plain TCP: tls://HOST[:PORT] is TCP with TLS)\n");
  const auto not_pem = run_command({pipemux_exe(), "--syslog-to", "tls://127.0.0.1",
                                    "--syslog-tls-ca", dir + "/ca.pem", "echo never"});
  EXPECT_EQ(not_pem.exit_code, 2);
  EXPECT_NE(not_pem.err.find("syslog tls://127.0.0.1:6514: cannot use \"" + dir +
                             "/ca.pem\" as the CA (PEM): "),
            std::string::npos)
      << not_pem.err;
  EXPECT_EQ(std::count(not_pem.err.begin(), not_pem.err.end(), '\n'), 1) << not_pem.err;
  EXPECT_EQ(not_pem.out.find("never"), std::string::npos);
}

}  // namespace
}  // namespace pipemux
