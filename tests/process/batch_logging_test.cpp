// Logging a whole batch at once (spdlog_adapter with the default pattern on an fd_sink) writes
// exactly the bytes of logging its messages one by one, through real children's output.
#include <gtest/gtest.h>

#include <spdlog/logger.h>
#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "pipemux/fd_sink.hpp"
#include "pipemux/log_format.hpp"
#include "pipemux/spdlog_adapter.hpp"
#include "pipemux/supervisor.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
namespace asio = boost::asio;
using test::read_file;

struct file_logger {
  file_logger(const std::string& path, bool fast, std::size_t buffer_size) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + path);
    sink = std::make_shared<fd_sink_st>(fd, true, buffer_size);
    logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_formatter(make_log_formatter(default_log_pattern, fast));
  }
  std::shared_ptr<fd_sink_st> sink;
  std::shared_ptr<spdlog::logger> logger;
};

TEST(BatchLogging, AWholeBatchIsTheSameBytesAsItsMessagesOneByOne) {
  const std::string fast_path = test::temp_path("pipemux_batch_fast.log");
  const std::string general_path = test::temp_path("pipemux_batch_general.log");
  {
    // A small sink buffer, so that one read's lines span several buffers.
    file_logger fast(fast_path, true, 4096);
    file_logger general(general_path, false, 4096);
    spdlog_adapter at_once(fast.logger);
    spdlog_adapter one_by_one(general.logger);

    asio::io_context io;
    run_options options;
    options.max_line = 100;  // longer lines come in pieces ('+'), each of a batch's lines
    supervisor sup(io.get_executor(), options);
    program_spec mixed{"mixed",
                       {"sh", "-c",
                        "printf 'tab\\there\\n'; head -c 250 /dev/zero | tr '\\000' x; echo; "
                        "printf 'caf\\303\\251 \\377 \\033[31mred\\n'; echo to-err >&2; "
                        "seq 1 20000; printf 'no newline at the end'"},
                       2,
                       {},
                       {}};
    std::size_t batches = 0, messages = 0;
    sup.async_run_batched(
        {mixed},
        [&](message_batch batch) {
          ++batches;
          messages += batch.size();
          at_once(batch);
          for (const message& m : batch) one_by_one(m);
        },
        [](const child_event&) {}, [](error_code, const run_summary&) {});
    io.run();
    EXPECT_GT(messages, 40000U);
    EXPECT_LT(batches, messages / 10) << "reads of many lines each were expected";
  }
  const std::string expected = read_file(general_path);
  const std::string got = read_file(fast_path);
  EXPECT_GT(expected.size(), 1000000U);
  EXPECT_TRUE(got == expected) << "sizes " << got.size() << " and " << expected.size();
  // The kinds of line that matter are in there, escaped as one by one escapes them.
  for (const char* part :
       {" out | tab\\there\n", " out + xxxxxxxx", " out | caf\u00e9 \\xff \\x1b[31mred\n",
        " err | to-err\n", " out | 20000\n", " out % no newline at the end\n"})
    EXPECT_NE(expected.find(part), std::string::npos) << part;
}

// The adapter proves the lines of one read plain in one pass over the bytes they lie in, one
// after the other; anything else is checked line by line. Each case here is a batch whose
// lines sit in memory as a read's would, written both ways: the bytes must be the same.
TEST(BatchLogging, LinesProvedPlainTogetherAreEscapedExactlyAsOneByOne) {
  const auto child = std::make_shared<const child_info>(child_info{"c", 0, 0, 42});
  const std::string joined_plain = "joined from the previous read";
  const std::string joined_special = "joined \x1b[31m";
  // Built from pieces: "\x1b" followed by a letter would not be one escape in a literal.
  const std::string esc(1, '\x1b');
  const std::string buffer = std::string(100, 'a') + "\n" + "tab\there\n" + std::string(40, 'b') +
                             "\n" + esc + "[0m\n" + std::string(70, 'c') + "\r\n" +
                             "back\\slash\n" + "caf\xc3\xa9\n" + std::string(20, 'd');
  struct piece {
    std::size_t offset, size;
  };
  const auto make = [&](const std::string* first, const std::vector<piece>& pieces) {
    std::vector<message> batch;
    const auto now = log_clock::now();
    if (first) batch.push_back(message{child, stream_kind::out, now, *first, piece_kind::line});
    for (const auto& [offset, size] : pieces)
      batch.push_back(message{child, stream_kind::out, now,
                              std::string_view(buffer).substr(offset, size), piece_kind::line});
    return batch;
  };
  const std::size_t tab = buffer.find("tab"), b_run = buffer.find('b', tab + 3),
                    escape = buffer.find(esc), c_run = buffer.find('c'),
                    slash = buffer.find("back"), cafe = buffer.find("caf"),
                    d_run = buffer.find('d');
  const std::vector<std::vector<message>> cases = {
      make(nullptr, {{0, 100}}),                             // one plain line
      make(nullptr, {{0, 50}, {50, 50}, {b_run, 40}}),       // pieces, then a line
      make(nullptr, {{0, 100}, {tab, 8}, {b_run, 40}}),      // a tab mid-run
      make(nullptr, {{b_run, 40}, {escape, 4}}),             // an escape at the end
      make(nullptr, {{escape, 4}, {c_run, 70}}),             // ... at the start
      make(nullptr, {{c_run, 70}, {slash, 10}}),             // "\r\n" between two lines
      make(nullptr, {{slash, 10}, {cafe, 5}, {d_run, 20}}),  // a backslash, UTF-8
      make(&joined_plain, {{0, 100}}),                       // joined line, then plain
      make(&joined_special, {{0, 100}, {b_run, 40}}),        // joined line needs escaping
      make(&joined_special, {{escape, 4}}),                  // both do
      make(nullptr, {{0, 104}}),                             // a raw chunk: its newline escaped
      make(nullptr, {{0, 50}, {50, 54}}),                    // ... also after a piece
      make(nullptr, {{0, 100}, {101, 3}}),                   // a line, then "tab" alone
  };
  ASSERT_EQ(buffer.substr(b_run - 1, 42), "\n" + std::string(40, 'b') + "\n");
  ASSERT_EQ(buffer.substr(escape, 4), esc + "[0m");
  ASSERT_EQ(buffer.substr(c_run - 1, 71), "\n" + std::string(70, 'c'));
  ASSERT_EQ(buffer.substr(slash, 10), "back\\slash");
  ASSERT_EQ(buffer.substr(cafe, 5), "caf\xc3\xa9");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const std::string fast_path = test::temp_path("pipemux_batch_plain_fast.log");
    const std::string general_path = test::temp_path("pipemux_batch_plain_general.log");
    {
      file_logger fast(fast_path, true, 4096);
      file_logger general(general_path, false, 4096);
      spdlog_adapter at_once(fast.logger);
      spdlog_adapter one_by_one(general.logger);
      at_once(std::span<const message>(cases[i]));
      for (const message& m : cases[i]) one_by_one(m);
    }
    const std::string expected = read_file(general_path);
    EXPECT_EQ(read_file(fast_path), expected);
    EXPECT_EQ(std::count(expected.begin(), expected.end(), '\n'),
              static_cast<std::ptrdiff_t>(cases[i].size()));
  }
}

TEST(BatchLogging, OnlyTheDefaultPatternsFormatterTakesABatch) {
  const std::string path = test::temp_path("pipemux_batch_other.log");
  file_logger custom(path, true, 4096);
  custom.logger->set_formatter(make_log_formatter("%L %v"));
  const child_info child{"c", 0, 0, 42};
  const detail::batch_line lines[] = {{'|', "one"}, {'|', "two"}};
  const detail::line_batch batch{log_clock::now(), &child, "out", lines};
  EXPECT_FALSE(custom.sink->log_batch(batch));
  custom.logger->set_formatter(make_log_formatter(default_log_pattern));
  EXPECT_TRUE(custom.sink->log_batch(batch));
  custom.logger->flush();
  const std::string text = read_file(path);
  EXPECT_NE(text.find(" c.0[42] out | one\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" c.0[42] out | two\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace pipemux

namespace pipemux {
namespace {

TEST(PerRead, EachCallIsOneReadOfOneChildAndTogetherEveryByteInOrder) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  // A line written in two halves is joined across reads (and copied out of the framer).
  const program_spec writer{"w",
                            {"sh", "-c",
                             "printf 'first half, '; sleep 0.2; printf 'second half\\n'; "
                             "seq 1 5000; printf 'no newline'"},
                            2,
                            {},
                            {}};
  std::map<std::size_t, std::string> text;
  std::size_t calls = 0, messages = 0;
  bool one_identity_per_call = true;
  sup.async_run_per_read(
      {writer},
      [&](std::span<const message> read) {
        ++calls;
        for (const message& m : read) {
          ++messages;
          one_identity_per_call = one_identity_per_call && m.child == read[0].child &&
                                  m.stream == read[0].stream && m.arrival == read[0].arrival;
          text[m.child->index] += std::string(m.bytes) + (m.kind == piece_kind::line ? "\n" : "");
        }
      },
      {}, [](error_code, const run_summary&) {});
  io.run();
  std::string expected = "first half, second half\n";
  for (int i = 1; i <= 5000; ++i) expected += std::to_string(i) + "\n";
  expected += "no newline";
  EXPECT_EQ(text[0], expected);
  EXPECT_EQ(text[1], expected);
  EXPECT_TRUE(one_identity_per_call);
  EXPECT_EQ(messages, 2U * 5002U);
  EXPECT_LT(calls, messages / 10) << "reads of many lines each were expected";
}

}  // namespace
}  // namespace pipemux
