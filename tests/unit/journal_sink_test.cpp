// The entries the journal sink sends, in the journal's native protocol, read back from a
// datagram socket of the test's own (the process suite sends them to a real journald).
#include <gtest/gtest.h>

#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <string_view>

#include "datagram_server.hpp"
#include "pipemux/journal_sink.hpp"
#include "pipemux/spdlog_adapter.hpp"

namespace pipemux::cli {
namespace {

using entry = std::vector<std::string>;

// "NAME=value" for each field of a native entry, whichever way it was written.
entry fields_of(std::string_view datagram) {
  entry fields;
  while (!datagram.empty()) {
    const auto newline = datagram.find('\n');
    const std::string_view line = datagram.substr(0, newline);
    const auto equals = line.find('=');
    if (equals != std::string_view::npos) {
      fields.emplace_back(line);
      datagram.remove_prefix(newline + 1);
      continue;
    }
    datagram.remove_prefix(newline + 1);  // NAME\n, a 64-bit little-endian size, the bytes, \n
    std::uint64_t size = 0;
    for (int i = 7; i >= 0; --i) size = size << 8 | static_cast<unsigned char>(datagram[i]);
    fields.push_back(std::string(line) + "=" + std::string(datagram.substr(8, size)));
    EXPECT_EQ(datagram[8 + size], '\n');
    datagram.remove_prefix(8 + size + 1);
  }
  return fields;
}

struct journal_to_test_socket {
  test::datagram_server server{"journal"};
  boost::asio::io_context io;
  std::shared_ptr<socket_sender> sender = [this] {
    socket_address to;
    to.host = server.path();
    return std::make_shared<socket_sender>(io.get_executor(), to);
  }();
  std::shared_ptr<spdlog::logger> logger =
      std::make_shared<spdlog::logger>("t", std::make_shared<journal_sink>(sender));
  entry next() { return fields_of(server.receive(io).value_or("MESSAGE=(nothing)")); }
};

TEST(JournalSink, EachMessageIsAnEntryWithTheChildsIdentityAsFields) {
  journal_to_test_socket journal;
  ASSERT_TRUE(journal.server.bound());
  spdlog_adapter log(journal.logger);
  log.pass_raw_bytes(true);
  const auto web = std::make_shared<const child_info>(child_info{"web", 3, 1, 4242});
  const auto now = log_clock::now();
  const std::string binary("bin\0\xff\n", 6);
  log(message{web, stream_kind::out, now, "GET / 200", piece_kind::line});
  log(message{web, stream_kind::err, now, binary, piece_kind::partial});
  log(child_event{child_event_kind::exited,
                  web,
                  exit_status::from_wait_status(3 << 8),
                  std::chrono::seconds(1),
                  {}});
  log.note(spdlog::level::warn, "a note of pipemux's own");
  EXPECT_EQ(journal.next(), (entry{"MESSAGE=GET / 200", "PRIORITY=6", "SYSLOG_IDENTIFIER=web",
                                   "SYSLOG_PID=4242", "PIPEMUX_KIND=line", "PIPEMUX_CHILD_INDEX=3",
                                   "PIPEMUX_CHILD_INSTANCE=1", "PIPEMUX_STREAM=out"}));
  EXPECT_EQ(journal.next(),
            (entry{"MESSAGE=" + binary, "PRIORITY=3", "SYSLOG_IDENTIFIER=web", "SYSLOG_PID=4242",
                   "PIPEMUX_KIND=partial", "PIPEMUX_CHILD_INDEX=3", "PIPEMUX_CHILD_INSTANCE=1",
                   "PIPEMUX_STREAM=err"}))
      << "every byte as it is: no escaping, no timestamp";
  EXPECT_EQ(journal.next(), (entry{"MESSAGE=exited with code 3 after 1.000 s", "PRIORITY=4",
                                   "SYSLOG_IDENTIFIER=web", "SYSLOG_PID=4242", "PIPEMUX_KIND=exit",
                                   "PIPEMUX_CHILD_INDEX=3", "PIPEMUX_CHILD_INSTANCE=1"}));
  EXPECT_EQ(journal.next(),
            (entry{"MESSAGE=a note of pipemux's own", "PRIORITY=4", "SYSLOG_IDENTIFIER=pipemux",
                   "SYSLOG_PID=" + std::to_string(::getpid()), "PIPEMUX_KIND=report"}));
  EXPECT_EQ(journal.sender->dropped(), 0U);
}

TEST(JournalSink, AValueWithANewlineIsSentLengthPrefixedAndOneWithoutAsNameEqualsValue) {
  std::string entry;
  append_journal_field(entry, "MESSAGE", "a=b");
  append_journal_field(entry, "MESSAGE", std::string("x\ny\0", 4));
  EXPECT_EQ(entry, std::string("MESSAGE=a=b\nMESSAGE\n\x04\0\0\0\0\0\0\0x\ny\0\n", 33));
}

// One datagram must fit the socket's send buffer (EMSGSIZE beyond, about 200 KB by default): a
// longer message goes in entries of 64 KiB, PIPEMUX_KIND=piece on all but the last.
TEST(JournalSink, AMessageOverOneDatagramGoesInPiecesThatMakeItUp) {
  journal_to_test_socket journal;
  ASSERT_TRUE(journal.server.bound());
  spdlog_adapter log(journal.logger);
  log.pass_raw_bytes(true);
  const auto web = std::make_shared<const child_info>(child_info{"web", 0, 0, 1});
  std::string line;
  for (int i = 0; line.size() < 300000; ++i) line += std::to_string(i) + (i % 7 == 0 ? "\n" : " ");
  log(message{web, stream_kind::out, log_clock::now(), line, piece_kind::line});
  std::string joined, kinds;
  for (int i = 0; i < 5; ++i) {
    const entry fields = journal.next();
    ASSERT_GE(fields.size(), 5U);
    ASSERT_TRUE(fields[0].starts_with("MESSAGE="));
    const std::string text = fields[0].substr(8);
    EXPECT_LE(text.size(), journal_sink::max_message);
    joined += text;
    kinds += fields[4] + " ";
  }
  EXPECT_EQ(joined, line);
  EXPECT_EQ(kinds,
            "PIPEMUX_KIND=piece PIPEMUX_KIND=piece PIPEMUX_KIND=piece PIPEMUX_KIND=piece "
            "PIPEMUX_KIND=line ");
  EXPECT_EQ(journal.sender->dropped(), 0U);
}

TEST(JournalSink, StandardOutputIsTheJournalOnlyWhenJournalStreamNamesIt) {
  struct stat out {};
  ASSERT_EQ(::fstat(STDOUT_FILENO, &out), 0);
  const std::string own = std::to_string(out.st_dev) + ":" + std::to_string(out.st_ino);
  EXPECT_TRUE(stdout_is_journal(own));
  EXPECT_FALSE(stdout_is_journal(std::nullopt));
  EXPECT_FALSE(
      stdout_is_journal(std::to_string(out.st_dev) + ":" + std::to_string(out.st_ino + 1)));
  EXPECT_FALSE(stdout_is_journal(own + "x"));
  EXPECT_FALSE(stdout_is_journal(":" + std::to_string(out.st_ino)));
  EXPECT_FALSE(stdout_is_journal(""));
}

}  // namespace
}  // namespace pipemux::cli
