// The fields the journal sink hands to libsystemd, whether or not a journald runs here (the
// process suite sends them to a real one and reads them back).
#include <gtest/gtest.h>

#include <spdlog/logger.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_sink.hpp"
#include "pipemux/spdlog_adapter.hpp"

namespace pipemux::cli {
namespace {

using entry = std::vector<std::string>;

struct captured_journal {
  std::vector<entry> entries;
  int result = 0;  // what each send returns
  std::shared_ptr<journal_sink> sink = std::make_shared<journal_sink>([this](const entry& fields) {
    entries.push_back(fields);
    return result;
  });
  std::shared_ptr<spdlog::logger> logger = std::make_shared<spdlog::logger>("t", sink);
};

TEST(JournalSink, EachMessageIsAnEntryWithTheChildsIdentityAsFields) {
  captured_journal journal;
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
  ASSERT_EQ(journal.entries.size(), 4U);
  EXPECT_EQ(journal.entries[0],
            (entry{"MESSAGE=GET / 200", "PRIORITY=6", "SYSLOG_IDENTIFIER=web", "SYSLOG_PID=4242",
                   "PIPEMUX_KIND=line", "PIPEMUX_CHILD_INDEX=3", "PIPEMUX_CHILD_INSTANCE=1",
                   "PIPEMUX_STREAM=out"}));
  EXPECT_EQ(journal.entries[1],
            (entry{"MESSAGE=" + binary, "PRIORITY=3", "SYSLOG_IDENTIFIER=web", "SYSLOG_PID=4242",
                   "PIPEMUX_KIND=partial", "PIPEMUX_CHILD_INDEX=3", "PIPEMUX_CHILD_INSTANCE=1",
                   "PIPEMUX_STREAM=err"}))
      << "every byte as it is: no escaping, no timestamp";
  EXPECT_EQ(journal.entries[2],
            (entry{"MESSAGE=exited with code 3 after 1.000 s", "PRIORITY=4",
                   "SYSLOG_IDENTIFIER=web", "SYSLOG_PID=4242", "PIPEMUX_KIND=exit",
                   "PIPEMUX_CHILD_INDEX=3", "PIPEMUX_CHILD_INSTANCE=1"}));
  EXPECT_EQ(journal.entries[3],
            (entry{"MESSAGE=a note of pipemux's own", "PRIORITY=4", "SYSLOG_IDENTIFIER=pipemux",
                   "SYSLOG_PID=" + std::to_string(::getpid()), "PIPEMUX_KIND=report"}));
}

TEST(JournalSink, EntriesThatCannotBeSentAreCountedAndTheFirstReported) {
  captured_journal journal;
  journal.result = -ECONNREFUSED;
  std::vector<std::error_code> reported;
  journal.sink->on_error([&](std::error_code ec) { reported.push_back(ec); });
  spdlog_adapter log(journal.logger);
  const auto web = std::make_shared<const child_info>(child_info{"web", 0, 0, 1});
  for (int i = 0; i < 3; ++i)
    log(message{web, stream_kind::out, log_clock::now(), "x", piece_kind::line});
  EXPECT_EQ(journal.sink->failed(), 3U);
  ASSERT_EQ(reported.size(), 1U);
  EXPECT_EQ(reported[0], std::errc::connection_refused);
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
