// Flow control per child (supervisor::async_run_batched, async_receive), through real pipes and
// real children: a held batch stops the reading of its child's pipe and of nothing else.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipemux/supervisor.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

program_spec sh(std::string name, std::string script) {
  return {std::move(name), {"sh", "-c", std::move(script)}, 1, {}, {}};
}

// Checks that each child's lines are 1, 2, 3, ... as `seq` writes them.
struct seq_checker {
  std::map<std::size_t, std::uint64_t> last;
  std::uint64_t errors = 0;
  void operator()(const message& m) {
    auto& previous = last[m.child->index];
    if (m.kind != piece_kind::line || m.bytes != std::to_string(previous + 1)) ++errors;
    ++previous;
  }
};

TEST(FlowControl, AHeldBatchStopsOnlyItsChildUntilItIsReleased) {
  asio::io_context io;
  run_options options;
  options.read_size = 65536;
  supervisor sup(io.get_executor(), options);
  // 1.2 MB of lines: far more than a pipe and a read hold, so it must block while held.
  const std::string line(59, 'x');
  std::optional<message_batch> kept;
  std::size_t held_batches = 0;
  std::uint64_t held_lines = 0;
  bool checked_at_sibling_exit = false;
  int held_pid = -1;
  seq_checker sibling;
  std::size_t largest_batch = 0;
  std::optional<error_code> result;
  // The sibling writes only once the held child's first batch is held (no timing assumed).
  const std::string go = test::temp_path("pipemux_flow_control_go");
  std::remove(go.c_str());
  sup.async_run_batched(
      {sh("held", "yes " + line + " | head -n 20000"),
       sh("sibling", "while [ ! -e " + go + " ]; do sleep 0.01; done; seq 1 200000")},
      [&](message_batch batch) {
        largest_batch = std::max(largest_batch, batch.bytes() + batch.size());  // '\n's
        if (batch[0].child->index == 1) {
          for (const auto& m : batch) sibling(m);
          return;  // released at once
        }
        held_pid = batch[0].child->pid;
        ++held_batches;
        for (const auto& m : batch) held_lines += m.bytes == line ? 1 : 1'000'000;
        if (held_batches == 1) {
          kept.emplace(std::move(batch));  // held: nothing more is read
          std::ofstream(go).put('\n');     // now the sibling may go
        }
      },
      [&](const child_event& e) {
        if (e.kind != child_event_kind::exited || e.child->index != 1) return;
        // The sibling ran to its end at full speed while the held child got one batch and
        // is blocked in write (a full pipe), not finished.
        EXPECT_EQ(held_batches, 1u);
        EXPECT_EQ(::kill(held_pid, 0), 0) << "the held child should still be running";
        checked_at_sibling_exit = true;
        kept.reset();  // released: it flows again
      },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  std::remove(go.c_str());
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result) << result->message();
  EXPECT_TRUE(checked_at_sibling_exit);
  EXPECT_EQ(held_lines, 20000u);  // every line, each exactly as written
  EXPECT_GT(held_batches, 1u);
  EXPECT_EQ(sibling.last[1], 200000u);
  EXPECT_EQ(sibling.errors, 0u);
  // A batch is at most one read: memory per child is one buffer plus a partial line.
  EXPECT_LE(largest_batch, options.read_size + 64);
}

// Receives every batch with async_receive until eof, checking each child's lines.
struct pull_loop {
  supervisor& sup;
  seq_checker seq;
  std::vector<std::pair<std::string, piece_kind>> other;  // lines of the child that is not seq
  std::size_t batches = 0;
  std::optional<error_code> end;

  void next() {
    sup.async_receive([this](error_code ec, message_batch batch) {
      if (ec) {
        end = ec;
        return;
      }
      ++batches;
      for (const auto& m : batch) {
        if (m.child->name == "other")
          other.emplace_back(std::string(m.bytes), m.kind);
        else
          seq(m);
      }
      next();  // the batch ends here: its pipe is read again
    });
  }
};

TEST(FlowControl, PullReceivesEveryLineOfEveryChildInOrderThenEof) {
  asio::io_context io;
  run_options options;
  options.read_size = 4096;  // many reads, and lines that straddle two of them
  supervisor sup(io.get_executor(), options);
  pull_loop pull{sup};
  std::optional<error_code> result;
  sup.async_run_batched(
      {program_spec{"seq", {"seq", "1", "30000"}, 3, {}, {}}, sh("other", "printf 'a\\nb\\nlast'")},
      {}, {}, [&](error_code ec, const run_summary&) { result = ec; });
  pull.next();
  io.run();
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result) << result->message();
  ASSERT_TRUE(pull.end);
  EXPECT_EQ(*pull.end, asio::error::eof);
  EXPECT_EQ(pull.seq.errors, 0u);
  for (std::size_t child = 0; child < 3; ++child) EXPECT_EQ(pull.seq.last[child], 30000u);
  const std::vector<std::pair<std::string, piece_kind>> expected = {
      {"a", piece_kind::line}, {"b", piece_kind::line}, {"last", piece_kind::partial}};
  EXPECT_EQ(pull.other, expected);
  std::size_t seq_bytes = 0;  // what `seq 1 30000` writes
  for (int i = 1; i <= 30000; ++i) seq_bytes += std::to_string(i).size() + 1;
  EXPECT_GE(pull.batches, 3 * seq_bytes / 4096);  // read by read, not all at once
}

TEST(FlowControl, ABatchKeptAfterTheSupervisorIsGoneStaysValid) {
  asio::io_context io;
  std::optional<message_batch> kept;
  {
    supervisor sup(io.get_executor());
    sup.async_run_batched(
        {sh("words", "echo one; echo two")},
        [&](message_batch batch) {
          if (!kept) kept.emplace(std::move(batch));
        },
        {}, [](error_code, const run_summary&) {});
    io.run_for(10s);
  }
  ASSERT_TRUE(kept);
  ASSERT_GE(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].bytes, "one");
  EXPECT_EQ((*kept)[0].child->name, "words");
  kept.reset();
  io.restart();
  io.run();
}

TEST(FlowControl, ReceiveSaysWhatIsWrong) {
  asio::io_context io;
  // A push run has no batches to pull.
  supervisor push(io.get_executor());
  push.async_run(
      {sh("quiet", "true")}, [](const message&) {}, [](error_code, const run_summary&) {});
  std::optional<error_code> not_pull;
  push.async_receive([&](error_code ec, message_batch) { not_pull = ec; });
  // One receive at a time; a pending one ends with the supervisor.
  std::optional<error_code> first, second;
  {
    supervisor sup(io.get_executor());
    sup.async_run_batched({sh("sleeper", "exec sleep 1000")}, {}, {},
                          [](error_code, const run_summary&) {});
    sup.async_receive([&](error_code ec, message_batch) { first = ec; });
    sup.async_receive([&](error_code ec, message_batch) { second = ec; });
    io.run_for(200ms);
    EXPECT_FALSE(first);
  }
  io.restart();
  io.run();
  ASSERT_TRUE(not_pull && first && second);
  EXPECT_EQ(*not_pull, asio::error::operation_not_supported);
  EXPECT_EQ(*second, asio::error::already_started);
  EXPECT_EQ(*first, asio::error::operation_aborted);
}

}  // namespace
}  // namespace pipemux
