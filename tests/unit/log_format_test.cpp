// Tests for include/pipemux/spdlog_adapter.hpp and include/pipemux/fd_sink.hpp.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include "pipemux/escape.hpp"
#include "pipemux/fd_sink.hpp"
#include "pipemux/json_format.hpp"
#include "pipemux/spdlog_adapter.hpp"

#include <spdlog/pattern_formatter.h>

namespace pipemux {
namespace {

// A logger writing through an fd_sink into a pipe the test reads back.
class LogFormat : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    sink_ = std::make_shared<fd_sink_st>(fds_[1], true);
    logger_ = std::make_shared<spdlog::logger>("test", sink_);
  }
  void TearDown() override { ::close(fds_[0]); }

  std::string written() {
    logger_->flush();
    std::string out(1 << 16, '\0');
    const ssize_t n = ::read(fds_[0], out.data(), out.size());
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
  }

  static log_clock::time_point at(std::time_t seconds, int micros) {
    return log_clock::from_time_t(seconds) + std::chrono::microseconds(micros);
  }
  static std::string local_time(std::time_t seconds) {
    std::tm tm{};
    ::localtime_r(&seconds, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
  }

  int fds_[2];
  std::shared_ptr<fd_sink_st> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

TEST_F(LogFormat, DefaultLineCarriesArrivalTimeToTheMicrosecondAndChildIdentity) {
  logger_->set_formatter(make_log_formatter(default_log_pattern));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"spam", 2, 0, 4242});
  log(message{child, stream_kind::out, at(1'790'000'000, 123'456), "Spam 0", piece_kind::line});
  EXPECT_EQ(written(), local_time(1'790'000'000) + ".123456 spam.0[4242] out | Spam 0\n");
}

TEST_F(LogFormat, FastDefaultFormatterWritesExactlyWhatThePatternDoes) {
  const auto child = std::make_shared<const child_info>(child_info{"spam", 12, 3, 31337});
  // A restart: the same child, a new pid.
  const auto restarted = std::make_shared<const child_info>(child_info{"spam", 12, 3, 4242});
  std::string fast, general;
  for (bool allow_fast : {true, false}) {
    logger_->set_formatter(make_log_formatter(default_log_pattern, allow_fast));
    spdlog_adapter log(logger_);
    for (const auto& [secs, micros] : std::vector<std::pair<std::time_t, int>>{
             {1'790'000'000, 0}, {1'790'000'000, 999'999}, {1'790'000'001, 5}, {1'790'000'000, 42}})
      for (auto kind :
           {piece_kind::line, piece_kind::continued, piece_kind::partial, piece_kind::chunk})
        log(message{child, stream_kind::err, at(secs, micros), "payload \x01", kind});
    log(message{restarted, stream_kind::out, at(1'790'000'002, 7), "after restart",
                piece_kind::line});
    log.note(spdlog::level::info, "own line");  // stamped now: compared without its time
    std::string out = written();
    const auto last = out.rfind('\n', out.size() - 2) + 1;
    out.erase(last, 27);
    (allow_fast ? fast : general) = out;
  }
  EXPECT_EQ(fast, general);
  EXPECT_EQ(std::count(fast.begin(), fast.end(), '\n'), 18);
  EXPECT_NE(fast.find("spam.3[4242] out | after restart\n"), std::string::npos);
}

TEST_F(LogFormat, EveryFlagAndMark) {
  logger_->set_formatter(make_log_formatter("%N/%k/%w/%J/%Z/%L %v"));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"web", 7, 1, 99});
  const auto t = log_clock::now();
  log(message{child, stream_kind::out, t, "a", piece_kind::line});
  log(message{child, stream_kind::err, t, "b", piece_kind::continued});
  log(message{child, stream_kind::out, t, "c", piece_kind::partial});
  log(message{child, stream_kind::out, t, "d", piece_kind::chunk});
  log.note(spdlog::level::info, "own");
  const std::string me = std::to_string(::getpid());
  EXPECT_EQ(written(),
            "web/7/99/out/|/web.1 a\n"
            "web/7/99/err/+/web.1 b\n"
            "web/7/99/out/%/web.1 c\n"
            "web/7/99/out/~/web.1 d\n"
            "pipemux/-/" +
                me + "/-/*/pipemux own\n");
}

TEST_F(LogFormat, EventsShowNoStream) {
  logger_->set_formatter(make_log_formatter(default_log_pattern));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"web", 7, 1, 99});
  log(child_event{child_event_kind::started, child, std::nullopt, {}, "web --port 1"});
  const std::string line = written();
  EXPECT_NE(line.find(" web.1[99] - * started: web --port 1\n"), std::string::npos) << line;
}

TEST_F(LogFormat, NonPrintableBytesAreEscapedAndRecoverable) {
  logger_->set_formatter(make_log_formatter("%v"));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"x", 0, 0, 1});
  const std::string raw("\x1b[2J\tbell\a\\\xff", 12);
  log(message{child, stream_kind::out, log_clock::now(), raw, piece_kind::line});
  std::string line = written();
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(line, "\\x1b[2J\\tbell\\x07\\\\\\xff");
  EXPECT_EQ(unescape(line), raw);
}

TEST_F(LogFormat, IdentityInThePayloadWorksWithAnyPattern) {
  logger_->set_formatter(std::make_unique<spdlog::pattern_formatter>("[%l] %v"));  // spdlog's own
  spdlog_adapter log(logger_, {}, identity_in::payload);
  const auto child = std::make_shared<const child_info>(child_info{"web", 3, 0, 77});
  log(message{child, stream_kind::err, log_clock::now(), "oops\x01", piece_kind::line});
  log.note(spdlog::level::warn, "mine");
  EXPECT_EQ(written(), "[info] web.0[77] err | oops\\x01\n[warning] pipemux[" +
                           std::to_string(::getpid()) + "] - * mine\n");
}

TEST_F(LogFormat, ExitEventsSayHowTheChildEnded) {
  logger_->set_formatter(make_log_formatter("%L %Z %v"));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"job", 1, 0, 5});
  log(child_event{child_event_kind::exited,
                  child,
                  exit_status::from_wait_status(3 << 8),
                  std::chrono::milliseconds(1500),
                  {}});
  log(child_event{child_event_kind::exited,
                  child,
                  exit_status::from_wait_status(SIGKILL),
                  std::chrono::milliseconds(20),
                  {}});
  EXPECT_EQ(written(),
            "job.0 * exited with code 3 after 1.500 s\n"
            "job.0 * killed by SIGKILL after 0.020 s\n");
}

TEST_F(LogFormat, SinkBuffersUntilFlush) {
  logger_->set_formatter(make_log_formatter("%v"));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"x", 0, 0, 1});
  ASSERT_EQ(::fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
  log(message{child, stream_kind::out, log_clock::now(), "held", piece_kind::line});
  char c;
  EXPECT_EQ(::read(fds_[0], &c, 1), -1) << "one write per batch, not per line";
  EXPECT_EQ(written(), "held\n");
}

TEST_F(LogFormat, LabelsArePaddedToTheWidestSoTheTextLinesUp) {
  log_style style;
  style.label_width = 8;  // "worker.0"
  logger_->set_formatter(make_log_formatter(default_log_pattern, style));
  spdlog_adapter log(logger_);
  const auto web = std::make_shared<const child_info>(child_info{"web", 0, 0, 4242});
  const auto worker = std::make_shared<const child_info>(child_info{"worker", 4, 0, 4243});
  log(message{web, stream_kind::out, at(1'790'000'000, 1), "a", piece_kind::line});
  log(message{worker, stream_kind::out, at(1'790'000'000, 2), "b", piece_kind::line});
  const std::string stamp = local_time(1'790'000'000);
  EXPECT_EQ(written(), stamp + ".000001 web.0   [4242] out | a\n" + stamp +
                           ".000002 worker.0[4243] out | b\n");
}

TEST(LogStyle, WidestLabelCountsIndexesOnAcrossPrograms) {
  std::vector<program_spec> programs(2);
  programs[0].name = "worker";
  programs[0].instances = 2;  // worker.0, worker.1
  programs[1].name = "web";
  programs[1].instances = 9;  // web.2 ... web.10
  EXPECT_EQ(widest_label(programs), std::string("worker.1").size());
  programs[1].name = "webs";
  EXPECT_EQ(widest_label(programs), std::string("webs.10").size() + 1);
  programs[0].name = "caf\u00e9-worker";  // columns, not bytes
  EXPECT_EQ(widest_label(programs), std::string("cafe-worker.1").size());
}

TEST_F(LogFormat, FlagsTakeSpdlogsWidthAlignmentAndTruncation) {
  log_style style;
  style.label_width = 12;  // only where %L has no width of its own
  logger_->set_formatter(make_log_formatter("[%-8L][%8w][%=7J][%3!N][%-3k][%L] %v", style));
  spdlog_adapter log(logger_);
  const auto child = std::make_shared<const child_info>(child_info{"worker", 5, 0, 4242});
  log(message{child, stream_kind::err, log_clock::now(), "x", piece_kind::line});
  EXPECT_EQ(written(), "[worker.0][    4242][  err  ][wor][5  ][worker.0    ] x\n");
}

TEST_F(LogFormat, ColoursMarkLabelsErrAndPipemuxsOwnFailuresAndTakeNoColumn) {
  log_style style;
  style.label_width = 6;
  style.color = true;
  style.label_colors = {{"web", 36}};
  std::string fast, general;
  for (bool allow_fast : {true, false}) {
    logger_->set_formatter(make_log_formatter(untimed_log_pattern, style, allow_fast));
    spdlog_adapter log(logger_);
    const auto web = std::make_shared<const child_info>(child_info{"web", 0, 0, 7});
    const auto db = std::make_shared<const child_info>(child_info{"db", 1, 0, 8});
    log(message{web, stream_kind::out, log_clock::now(), "up", piece_kind::line});
    log(message{db, stream_kind::err, log_clock::now(), "oops", piece_kind::line});
    log(child_event{child_event_kind::exited, db, exit_status{3, 0, false}, {}, {}});
    log(child_event{child_event_kind::spawn_failed, db, std::nullopt, {}, "no such program"});
    (allow_fast ? fast : general) = written();
  }
  EXPECT_EQ(fast, general);
  EXPECT_NE(fast.find("\x1b[36mweb.0\x1b[0m [7] out | up\n"), std::string::npos) << fast;
  // db has no colour of its own; err is red; a failure is yellow, an error bold red.
  EXPECT_NE(fast.find("db.0  [8] \x1b[31merr\x1b[0m | oops\n"), std::string::npos) << fast;
  EXPECT_NE(fast.find("db.0  [8] - * \x1b[33mexited with code 3"), std::string::npos) << fast;
  EXPECT_NE(fast.find("db.0  [8] - * \x1b[1m\x1b[31m"), std::string::npos) << fast;
}

TEST_F(LogFormat, RelativeTimeCountsFromTheRunsStartInBothFormatters) {
  log_style style;
  style.run_start = at(1'790'000'000, 250'000);
  const auto child = std::make_shared<const child_info>(child_info{"c", 0, 0, 9});
  for (bool allow_fast : {true, false}) {
    logger_->set_formatter(make_log_formatter(relative_log_pattern, style, allow_fast));
    spdlog_adapter log(logger_);
    log(message{child, stream_kind::out, at(1'790'003'723, 750'001), "x", piece_kind::line});
    log(message{child, stream_kind::out, at(1'790'000'000, 0), "early", piece_kind::line});
    EXPECT_EQ(written(),
              "01:02:03.500001 c.0[9] out | x\n"
              "00:00:00.000000 c.0[9] out | early\n");  // a clock stepped back: never negative
  }
  logger_->set_formatter(make_log_formatter("%q|%v", style));
  spdlog_adapter log(logger_);
  log(message{child, stream_kind::out, at(1'790'360'000, 250'000), "y", piece_kind::line});
  EXPECT_EQ(written(), "100:00:00.000000|y\n");
}

TEST_F(LogFormat, JsonLinesOfOneReadAreWrittenAsEachMessageAloneWouldBe) {
  logger_->set_formatter(make_json_formatter());
  spdlog_adapter log(logger_);
  log.pass_raw_bytes(true);
  const auto child = std::make_shared<const child_info>(child_info{"w\"eb", 3, 1, 77});
  // One buffer, as a read gives it: lines, a piece, text that is not UTF-8.
  const std::string buffer = "a \"quoted\" \\ line\nnot utf-8 \xff\xfe\nabcdefgh";
  const auto when = at(1'790'000'000, 42);
  const std::vector<message> read{
      {child, stream_kind::out, when, std::string_view(buffer).substr(0, 17), piece_kind::line},
      {child, stream_kind::out, when, std::string_view(buffer).substr(18, 12), piece_kind::line},
      {child, stream_kind::out, when, std::string_view(buffer).substr(31, 4),
       piece_kind::continued},
      {child, stream_kind::out, when, std::string_view(buffer).substr(35), piece_kind::partial}};
  log(std::span<const message>(read));
  const std::string batched = written();
  for (const message& m : read) log(m);
  EXPECT_EQ(written(), batched);
  EXPECT_EQ(batched,
            "{\"time\":\"2026-09-21T14:13:20.000042Z\",\"name\":\"w\\\"eb\",\"index\":3,"
            "\"instance\":1,\"pid\":77,\"stream\":\"out\",\"kind\":\"line\",\"message\":\"a "
            "\\\"quoted\\\" \\\\ line\"}\n"
            "{\"time\":\"2026-09-21T14:13:20.000042Z\",\"name\":\"w\\\"eb\",\"index\":3,"
            "\"instance\":1,\"pid\":77,\"stream\":\"out\",\"kind\":\"line\",\"message_base64\":"
            "\"bm90IHV0Zi04IP/+\"}\n"
            "{\"time\":\"2026-09-21T14:13:20.000042Z\",\"name\":\"w\\\"eb\",\"index\":3,"
            "\"instance\":1,\"pid\":77,\"stream\":\"out\",\"kind\":\"piece\",\"message\":"
            "\"abcd\"}\n"
            "{\"time\":\"2026-09-21T14:13:20.000042Z\",\"name\":\"w\\\"eb\",\"index\":3,"
            "\"instance\":1,\"pid\":77,\"stream\":\"out\",\"kind\":\"partial\",\"message\":"
            "\"efgh\"}\n");
}

// A RIGHT-TO-LEFT OVERRIDE in a name would turn the rest of the line around on a terminal:
// every way a name is written shows it escaped (its bytes, so that it reads back exactly), and
// JSON as \u202e. The child's own text is written as it came.
TEST_F(LogFormat, ANamesBidirectionalControlsAreEscapedInEveryFormat) {
  const auto child = std::make_shared<const child_info>(child_info{"ab\u202ecd\u2066", 3, 0, 77});
  const auto log_one = [&](spdlog_adapter& log) {
    log(message{child, stream_kind::out, at(1'790'000'000, 5), "text\u202e", piece_kind::line});
  };
  const std::string shown = "ab\\xe2\\x80\\xaecd\\xe2\\x81\\xa6";
  for (bool allow_fast : {true, false}) {
    logger_->set_formatter(make_log_formatter(untimed_log_pattern, {}, allow_fast));
    spdlog_adapter log(logger_);
    log_one(log);
    EXPECT_EQ(written(), shown + ".0[77] out | text\u202e\n") << "fast: " << allow_fast;
  }
  logger_->set_formatter(make_log_formatter("%N|%-20L|%v"));
  {
    spdlog_adapter log(logger_);
    log_one(log);
  }
  EXPECT_EQ(written(), shown + "|" + shown + ".0|text\u202e\n");
  logger_->set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  {
    spdlog_adapter log(logger_, {}, identity_in::payload);
    log_one(log);
  }
  EXPECT_EQ(written(), shown + ".0[77] out | text\u202e\n");
  logger_->set_formatter(make_json_formatter());
  {
    spdlog_adapter log(logger_);
    log.pass_raw_bytes(true);
    log_one(log);
  }
  EXPECT_NE(written().find("\"name\":\"ab\\u202ecd\\u2066\","), std::string::npos);
  std::vector<program_spec> programs(1);
  programs[0].name = child->name;
  programs[0].instances = 4;
  EXPECT_EQ(widest_label(programs), shown.size() + 2) << "the escaped name's columns";
}

TEST(FdSink, WriteErrorIsReportedOnceAndOutputStops) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  auto sink = std::make_shared<fd_sink_st>(full, true);
  int calls = 0;
  std::error_code seen;
  sink->on_write_error([&](std::error_code ec) {
    ++calls;
    seen = ec;
  });
  spdlog::logger logger("full", sink);
  logger.set_formatter(make_log_formatter("%v"));
  logger.info("one");
  logger.flush();
  logger.info("two");
  logger.flush();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, std::errc::no_space_on_device);
  EXPECT_EQ(sink->write_error(), std::errc::no_space_on_device);
}

}  // namespace
}  // namespace pipemux
