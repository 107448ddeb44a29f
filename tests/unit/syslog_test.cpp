// The syslog sink's parts: addresses, the RFC 5424 text (read back from a real datagram
// socket), and the sender's bounded buffer when nobody answers.
#include <gtest/gtest.h>

#include <spdlog/logger.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <regex>
#include <set>
#include <string_view>

#include "datagram_server.hpp"
#include "log/syslog_message.hpp"
#include "pipemux/config.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/socket_sender.hpp"
#include "pipemux/spdlog_adapter.hpp"
#include "pipemux/syslog_sink.hpp"

namespace pipemux::cli {
namespace {
using transport = syslog_address::transport;

TEST(SyslogAddress, LocalPathsUdpAndTcpWithOrWithoutAPort) {
  const auto local = parse_syslog_address("local");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->via, transport::unix_datagram);
  EXPECT_EQ(local->host, "/dev/log");
  EXPECT_EQ(syslog_address{}.host, "/dev/log") << "the default";
  EXPECT_EQ(parse_syslog_address("unix:/run/x.sock")->host, "/run/x.sock");
  EXPECT_EQ(parse_syslog_address("/run/x.sock")->host, "/run/x.sock");
  const auto udp = parse_syslog_address("udp://10.0.0.1");
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->via, transport::udp);
  EXPECT_EQ(udp->host, "10.0.0.1");
  EXPECT_EQ(udp->port, 514);
  const auto tcp = parse_syslog_address("tcp://logs.example:6514");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->via, transport::tcp);
  EXPECT_EQ(tcp->host, "logs.example");
  EXPECT_EQ(tcp->port, 6514);
  const auto v6 = parse_syslog_address("tcp://[::1]:1514");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 1514);
  EXPECT_EQ(parse_syslog_address("udp://[::1]")->port, 514);
  for (const char* bad : {"http://x", "tcp://", "tcp://:514", "tcp://h:0", "tcp://h:65536",
                          "tcp://h:", "tcp://h:5x", "udp://::1:514", "tcp://[::1", "relative.sock"})
    EXPECT_FALSE(parse_syslog_address(bad)) << bad;
}

TEST(SyslogAddress, RelpWithPort2514UnlessGivenAndTheStreamsMaximum) {
  const auto relp = parse_syslog_address("relp://logs.example");
  ASSERT_TRUE(relp);
  EXPECT_EQ(relp->via, transport::relp);
  EXPECT_EQ(relp->host, "logs.example");
  EXPECT_EQ(relp->port, 2514);
  EXPECT_EQ(parse_syslog_address("relp://[::1]:20514")->port, 20514);
  EXPECT_EQ(socket_address_name(*parse_syslog_address("relp://[::1]:20514")), "relp://[::1]:20514");
  EXPECT_EQ(syslog_max_message_problem(*relp, max_syslog_stream_message), "");
  EXPECT_EQ(syslog_max_message_problem(*relp, max_syslog_stream_message + 1),
            "between 480 and 16777216 bytes over RELP (got 16777217)");
  for (const char* bad : {"relp://", "relp://h:0", "relp:/h", "relp://user@h"})
    EXPECT_FALSE(parse_syslog_address(bad)) << bad;
}

// Each of these was once accepted, and then cost close_timeout (5 s) at the end of every run
// while the sender tried to reach it.
TEST(SyslogAddress, AddressesThatCanNeverBeReachedAreRefused) {
  const std::string too_long = "/tmp/" + std::string(103, 'x');  // 108 bytes, and the NUL
  for (const std::string bad :
       {"", "unix:", "tcp://user@host", "tcp://256.1.1.1", "udp://1.2.3", "udp://log\nhost",
        "tcp://a..b", "tcp://-a.example", "tcp://[::g]", "tcp://[]:514", too_long.c_str()})
    EXPECT_FALSE(parse_syslog_address(bad)) << bad;
  EXPECT_TRUE(parse_syslog_address(too_long.substr(0, 107))) << "107 bytes: fits";
  for (const char* good : {"tcp://log-1.example.com.", "udp://192.168.0.255:1514", "tcp://[::1]",
                           "udp://[fe80::1%eth0]:514", "tcp://syslog_server", "/dev/log"})
    EXPECT_TRUE(parse_syslog_address(good)) << good;
  EXPECT_EQ(syslog_address_problem("tcp://host:0"),
            "the port must be a number from 1 to 65535 (got \"0\")");
  EXPECT_EQ(syslog_address_problem("tcp://a..b"),
            "\"a..b\" has an empty label (\"..\", or a '.' first)");
  EXPECT_EQ(syslog_address_problem("udp://::1:514"), "an IPv6 address goes in brackets: [::1]:514");
  EXPECT_EQ(syslog_address_problem("tcp://[::g]"), "\"::g\" in brackets is no IPv6 address");
  EXPECT_EQ(syslog_address_problem("unix:"), "no socket path after \"unix:\"");
  EXPECT_EQ(syslog_address_problem("unix:x.sock"),
            "a socket's path must be absolute (got \"x.sock\")");
  EXPECT_EQ(syslog_address_problem(std::string(200, '/')),
            "a socket's path has at most 107 bytes (got 200)");
  EXPECT_EQ(syslog_address_problem("tcp://host"), "");
}

TEST(SyslogMessage, Rfc5424WithTheChildsIdentityAsStructuredData) {
  test::datagram_server server("syslog");
  ASSERT_TRUE(server.bound());
  boost::asio::io_context io;
  auto sender =
      std::make_shared<socket_sender>(io.get_executor(), *parse_syslog_address(server.path()));
  const int local3 = 19;
  auto logger = std::make_shared<spdlog::logger>(
      "t", std::make_shared<syslog_sink>(sender, local3, default_syslog_max_message,
                                         syslog_sink::delivery{}));
  spdlog_adapter log(logger);
  log.pass_raw_bytes(true);
  const auto web = std::make_shared<const child_info>(child_info{"web server", 3, 1, 4242});
  const auto when = log_clock::time_point(std::chrono::microseconds(1'796'000'000'123'456));
  log(message{web, stream_kind::out, when, "GET / 200", piece_kind::line});
  log(message{web, stream_kind::err, when, "bad ] \"thing\"\n\xff", piece_kind::partial});
  log(child_event{child_event_kind::exited,
                  web,
                  exit_status::from_wait_status(3 << 8),
                  std::chrono::seconds(1),
                  {}},
      when);
  log.note(spdlog::level::info, "a note", when);
  const std::string host = syslog_hostname();
  const std::string time = "2026-11-30T00:53:20.123456Z";  // date -u -d @1796000000
  // <PRI> = facility * 8 + severity; APP-NAME has no spaces; PROCID the child's pid.
  EXPECT_EQ(server.receive(io), "<158>1 " + time + " " + host +
                                    " web_server 4242 line [pipemux@32473 index=\"3\" "
                                    "instance=\"1\" stream=\"out\"] GET / 200");
  EXPECT_EQ(server.receive(io), "<155>1 " + time + " " + host +
                                    " web_server 4242 partial [pipemux@32473 index=\"3\" "
                                    "instance=\"1\" stream=\"err\"] bad ] \"thing\"\n\xff");
  EXPECT_EQ(server.receive(io), "<156>1 " + time + " " + host +
                                    " web_server 4242 exit [pipemux@32473 index=\"3\" "
                                    "instance=\"1\"] exited with code 3 after 1.000 s");
  EXPECT_EQ(server.receive(io), "<158>1 " + time + " " + host + " pipemux " +
                                    std::to_string(::getpid()) + " report - a note");
}

// Numbered (RELP: at least once), each child's messages count from 1 by its index, pipemux's own
// apart, each piece of a long line its own number; a message with its number still fits.
TEST(SyslogMessage, NumberedEachChildsMessagesCountFromOneAndEachPieceHasItsOwn) {
  test::datagram_server server("syslog-numbered");
  ASSERT_TRUE(server.bound());
  boost::asio::io_context io;
  auto sender =
      std::make_shared<socket_sender>(io.get_executor(), *parse_syslog_address(server.path()));
  constexpr std::size_t most = min_syslog_max_message;
  auto logger = std::make_shared<spdlog::logger>(
      "t", std::make_shared<syslog_sink>(sender, 1, most, syslog_sink::delivery{.numbered = true}));
  spdlog_adapter log(logger);
  log.pass_raw_bytes(true);
  const auto web = std::make_shared<const child_info>(child_info{"web", 0, 0, 100});
  const auto db = std::make_shared<const child_info>(child_info{"db", 1, 0, 200});
  const auto when = log_clock::now();
  log(message{web, stream_kind::out, when, "one", piece_kind::line});
  log(message{db, stream_kind::out, when, "first", piece_kind::line});
  log.note(spdlog::level::info, "a note", when);
  log(message{web, stream_kind::err, when, std::string(1000, 'x'), piece_kind::line});
  log(message{db, stream_kind::out, when, "second", piece_kind::line});
  const auto next = [&] { return server.receive(io).value_or("(nothing)"); };
  const auto sd = [](const std::string& received) {
    const auto open = received.find('[');
    return open == std::string::npos ? received.substr(0, 0)
                                     : received.substr(open, received.find(']') - open + 1);
  };
  EXPECT_EQ(sd(next()), "[pipemux@32473 index=\"0\" instance=\"0\" stream=\"out\" seq=\"1\"]");
  EXPECT_EQ(sd(next()), "[pipemux@32473 index=\"1\" instance=\"0\" stream=\"out\" seq=\"1\"]");
  const std::string note = next();
  EXPECT_NE(note.find(" report [pipemux@32473 seq=\"1\"] a note"), std::string::npos) << note;
  std::string pieces;
  for (std::uint64_t number = 2;; ++number) {
    const std::string piece = next();
    EXPECT_LE(piece.size(), most);
    EXPECT_EQ(sd(piece), "[pipemux@32473 index=\"0\" instance=\"0\" stream=\"err\" seq=\"" +
                             std::to_string(number) + "\"]");
    pieces += piece.substr(piece.find("] ") + 2);
    if (piece.find(" line [") != std::string::npos) break;  // the last piece is the line
    ASSERT_NE(piece.find(" piece ["), std::string::npos) << piece;
    ASSERT_LT(number, 10U);
  }
  EXPECT_EQ(pieces, std::string(1000, 'x'));
  EXPECT_EQ(sd(next()), "[pipemux@32473 index=\"1\" instance=\"0\" stream=\"out\" seq=\"2\"]");
}

// A long line over a syslog server's maximum: pieces that fit it, MSGID "piece" on all but the
// last, never cut inside a UTF-8 sequence; over TCP each framed by its length.
TEST(SyslogMessage, ALineOverTheMaximumGoesInPiecesThatFitNeverCutInsideUtf8) {
  namespace ip = boost::asio::ip;
  boost::asio::io_context io;
  ip::tcp::acceptor acceptor(io, ip::tcp::endpoint(ip::address_v4::loopback(), 0));
  ip::tcp::socket peer(io);
  acceptor.async_accept(peer, [](const boost::system::error_code&) {});
  const auto tcp =
      parse_syslog_address("tcp://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  auto sender = std::make_shared<socket_sender>(io.get_executor(), *tcp);
  auto logger = std::make_shared<spdlog::logger>(
      "t", std::make_shared<syslog_sink>(sender, 1, 600, syslog_sink::delivery{.framed = true}));
  spdlog_adapter log(logger);
  log.pass_raw_bytes(true);
  const auto web = std::make_shared<const child_info>(child_info{"web", 0, 0, 7});
  std::string line;  // "€" is 3 bytes: some cut would fall inside one
  while (line.size() < 2000) line += "ab\xe2\x82\xac";
  log(message{web, stream_kind::out, log_clock::now(), line, piece_kind::line});
  log(message{web, stream_kind::out, log_clock::now(), "short", piece_kind::line});
  std::string received;
  std::array<char, 4096> chunk{};
  bool more = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (more && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
    boost::system::error_code ec;
    if (!peer.is_open() || peer.available(ec) == 0) continue;
    received.append(chunk.data(), peer.read_some(boost::asio::buffer(chunk), ec));
    more = received.find("] short") == std::string::npos;
  }
  // "LEN <14>1 TIME HOST web 7 MSGID [pipemux@32473 ...] TEXT", one after the other.
  std::string joined, kinds;
  const std::regex header(R"(^<14>1 \S+ \S+ web 7 (\w+) \[pipemux@32473 [^\]]*\] )");
  std::string_view rest = received;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    ASSERT_NE(space, std::string_view::npos) << received;
    const std::size_t size = std::stoul(std::string(rest.substr(0, space)));
    ASSERT_LE(size, 600U) << "each message fits";
    const std::string message(rest.substr(space + 1, size));
    rest.remove_prefix(space + 1 + size);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(message, m, header)) << message;
    kinds += m[1].str() + " ";
    const std::string text = message.substr(static_cast<std::size_t>(m.length(0)));
    EXPECT_FALSE(needs_escape(text)) << "well-formed UTF-8: no cut inside the euro sign";
    if (m[1] != "short") joined += text;
  }
  EXPECT_EQ(joined, line + "short");
  EXPECT_TRUE(std::regex_match(kinds, std::regex("(piece ){4,}line line "))) << kinds;
}

TEST(SocketSender, NotConnectedFillsTheBoundedBufferThenDropsAndCounts) {
  boost::asio::io_context io;
  socket_address nobody;
  nobody.host = "/nonexistent/pipemux-test.sock";  // connect() fails at once: not there
  socket_sender::limits small;
  small.max_queued = 1000;
  small.close_timeout = std::chrono::milliseconds(300);
  socket_sender sender(io.get_executor(), nobody, small);
  std::vector<std::string> reasons;
  sender.on_dropping([&](const std::string& why) { reasons.push_back(why); });
  for (int i = 0; i < 100; ++i) sender.send(std::string(50, 'x'));
  EXPECT_EQ(sender.dropped(), 80U) << "20 fit in 1000 bytes";
  EXPECT_FALSE(sender.backlogged()) << "not connected: no reason to stop reading children";
  bool closed = false;
  sender.close([&] { closed = true; });
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(closed);
  EXPECT_EQ(sender.dropped(), 100U) << "what was buffered is counted when the time is up";
  EXPECT_EQ(reasons, std::vector<std::string>{"not connected (No such file or directory)"});
}

// A TCP server that does not read: the kernel's buffers fill, then the queue passes its mark
// and the sender is backlogged until the server has read everything. Connected, nothing is
// ever dropped, however far past max_queued the queue goes before the pause (issue 21: short
// lines made one read of the children over 1 MB of messages).
TEST(SocketSender, AServerThatDoesNotReadBacklogsItWithoutADropUntilItHasReadEverything) {
  namespace ip = boost::asio::ip;
  boost::asio::io_context io;
  ip::tcp::acceptor acceptor(io, ip::tcp::endpoint(ip::address_v4::loopback(), 0));
  ip::tcp::socket peer(io);
  bool accepted = false;
  acceptor.async_accept(peer, [&](const boost::system::error_code& ec) { accepted = !ec; });
  socket_address to;
  to.via = transport::tcp;
  to.host = "127.0.0.1";
  to.port = acceptor.local_endpoint().port();
  socket_sender::limits marks;
  marks.high_water = 64 << 10;
  marks.low_water = 16 << 10;
  marks.max_queued = 64 << 10;
  socket_sender sender(io.get_executor(), to, marks);
  int cues = 0;
  sender.on_backlog([&] { ++cues; });
  const std::string message(1000, 'x');
  sender.send(message);
  std::size_t sent = 1;
  while (!accepted && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  ASSERT_TRUE(accepted);
  while (!sender.backlogged() && sent < 100000) {
    sender.send(message);
    ++sent;
    io.poll();
  }
  ASSERT_TRUE(sender.backlogged()) << sent << " messages sent";
  // A cue at each change (the kernel's buffers may grow meanwhile): now an odd count.
  EXPECT_EQ(cues % 2, 1) << cues;
  // What reads already under way still deliver, long after the pause was asked for.
  for (int i = 0; i < 1000; ++i, ++sent) sender.send(message);
  EXPECT_EQ(sender.dropped(), 0U) << "connected: never dropped, whatever max_queued says";
  std::size_t received = 0;
  std::string chunk(1 << 16, '\0');
  bool intact = true;
  std::function<void()> read = [&] {
    peer.async_read_some(boost::asio::buffer(chunk), [&](const auto& ec, std::size_t n) {
      if (ec) {
        ADD_FAILURE() << "read: " << ec.message();
        return;
      }
      intact = intact && std::all_of(chunk.begin(), chunk.begin() + static_cast<long>(n),
                                     [](char c) { return c == 'x'; });
      received += n;
      if (received < sent * 1000) read();
    });
  };
  read();
  io.restart();  // a poll() that found nothing ready may have stopped it
  while (received < sent * 1000 && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  EXPECT_EQ(received, sent * 1000);
  EXPECT_TRUE(intact);
  EXPECT_FALSE(sender.backlogged());
  EXPECT_EQ(cues % 2, 0) << cues;
  EXPECT_GE(cues, 2);
  EXPECT_EQ(sender.dropped(), 0U);
  EXPECT_EQ(sender.possibly_lost(), 0U);
}

// A connection that ends (here: the server closes it with bytes unread, which resets it) is
// noticed at once, without a write; what the server's TCP had not acknowledged is written again
// on the next connection, so every message arrives at least once.
TEST(SocketSender, OverTcpWhatTheServerDidNotAcknowledgeIsSentAgainOnTheNextConnection) {
  namespace ip = boost::asio::ip;
  boost::asio::io_context io;
  ip::tcp::acceptor acceptor(io, ip::tcp::endpoint(ip::address_v4::loopback(), 0));
  socket_address to;
  to.via = transport::tcp;
  to.host = "127.0.0.1";
  to.port = acceptor.local_endpoint().port();
  socket_sender sender(io.get_executor(), to);
  std::vector<std::pair<std::size_t, std::string>> lost;
  sender.on_connection_lost(
      [&](std::size_t maybe, const std::string& why) { lost.emplace_back(maybe, why); });
  // Numbered messages, "000000\n" ...: what arrives is easy to check.
  const auto number = [](std::size_t i) {
    std::string text = std::to_string(i);
    return std::string(6 - text.size(), '0') + text + "\n";
  };
  ip::tcp::socket server(io);
  bool accepted = false;
  acceptor.async_accept(server, [&](const boost::system::error_code& ec) { accepted = !ec; });
  sender.send(number(0));
  std::size_t count = 1;
  while (!accepted && io.run_one_for(std::chrono::seconds(5)) > 0) {
  }
  ASSERT_TRUE(accepted);
  // The server does not read: the kernel's buffers fill, then the sender's own queue.
  while (!sender.backlogged() && count < 999000) {
    for (int i = 0; i < 1000; ++i) sender.send(number(count++));
    io.poll();
  }
  ASSERT_TRUE(sender.backlogged());
  std::string before(1 << 16, '\0');
  before.resize(server.read_some(boost::asio::buffer(before)));
  server.close();  // bytes unread: the kernel resets the connection
  ip::tcp::socket second(io);
  acceptor.async_accept(second, [](const boost::system::error_code&) {});
  std::string after;
  std::array<char, 65536> chunk{};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!after.ends_with(number(count - 1)) && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(1));
    boost::system::error_code ec;
    while (second.is_open() && second.available(ec) > 0)
      after.append(chunk.data(), second.read_some(boost::asio::buffer(chunk), ec));
  }
  ASSERT_EQ(lost.size(), 1U);
  EXPECT_EQ(lost[0].second, "Connection reset by peer");
  // Every number: read before the reset, or sent again after it (from where the server's TCP
  // stopped acknowledging); the possibly lost are the acknowledged ones nobody read.
  std::set<std::string> arrived;
  for (const std::string& part : {before, after})
    for (std::size_t at = part.find('\n'); at != std::string::npos && at >= 6;
         at = part.find('\n', at + 1))
      arrived.insert(part.substr(at - 6, 7));
  std::size_t missing = 0;
  for (std::size_t i = 0; i < count; ++i) missing += arrived.count(number(i)) == 0 ? 1 : 0;
  EXPECT_GT(after.size(), 0U) << "some was not acknowledged, and sent again";
  EXPECT_LE(missing, lost[0].first) << count << " sent";
  EXPECT_EQ(sender.possibly_lost(), lost[0].first);
  EXPECT_TRUE(after.ends_with(number(count - 1))) << "to the end";
}

}  // namespace
}  // namespace pipemux::cli
