// Tests for supervisor::async_run as an Asio operation: completion tokens, cancellation, and
// hosts that run their io_context on several threads or share it between supervisors.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "pipemux/supervisor.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;

program_spec spam(std::size_t instances, std::uint64_t count,
                  const std::string& record_prefix = {}) {
  program_spec spec{"spam",
                    {test::pipemux_exe(), "spam", "--count", std::to_string(count), "--interval",
                     "0", "--sequence"},
                    instances,
                    {},
                    {}};
  if (!record_prefix.empty()) spec.argv.insert(spec.argv.end(), {"--record", record_prefix});
  return spec;
}

// Checks, per child, that sequence numbers arrive 0, 1, 2, ... with no gap or repeat.
class sequence_checker {
 public:
  void operator()(const message& m) {
    std::lock_guard lock(mutex_);  // handlers of one supervisor never overlap; two might
    const auto at = m.bytes.rfind("seq=");
    const std::uint64_t seq =
        at == std::string_view::npos ? ~0ull : std::stoull(std::string(m.bytes.substr(at + 4)));
    auto& next = next_[m.child->index];
    if (seq != next || m.kind != piece_kind::line) ++errors_;
    next = seq + 1;
    ++total_;
  }
  std::uint64_t total() const { return total_.load(); }
  // How many children have been heard from: a stop before a child ran at all proves nothing.
  std::size_t children_heard() {
    std::lock_guard lock(mutex_);
    return next_.size();
  }
  // True once each of `children` delivered at least `lines`: then each has counted at least
  // lines - 1 as written (a machine under load may start the last child long after the first).
  bool each_delivered(std::size_t children, std::uint64_t lines) {
    std::lock_guard lock(mutex_);
    if (next_.size() < children) return false;
    for (const auto& [child, next] : next_)
      if (next < lines) return false;
    return true;
  }
  std::uint64_t errors() const { return errors_; }
  std::uint64_t next(std::size_t child) {
    std::lock_guard lock(mutex_);
    return next_[child];
  }

 private:
  std::mutex mutex_;
  std::map<std::size_t, std::uint64_t> next_;
  std::atomic<std::uint64_t> total_{0};
  std::uint64_t errors_ = 0;
};

TEST(SupervisorAsync, CallbackCompletesWithSummaryAndNoError) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  sequence_checker check;
  std::optional<run_summary> summary;
  error_code result = asio::error::would_block;
  sup.async_run({spam(2, 100)}, std::ref(check), [&](error_code ec, run_summary s) {
    result = ec;
    summary = std::move(s);
  });
  io.run();
  EXPECT_FALSE(result) << result.message();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->children.size(), 2u);
  EXPECT_EQ(check.total(), 200u);
  EXPECT_EQ(check.errors(), 0u);
}

TEST(SupervisorAsync, FailuresArriveAsPipemuxErrorCodes) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  error_code failed, missing;
  sup.async_run(
      {program_spec{"f", {"sh", "-c", "exit 1"}, 1, {}, {}}}, [](const message&) {},
      [&](error_code ec, const run_summary&) { failed = ec; });
  supervisor sup2(io.get_executor());
  sup2.async_run(
      {program_spec{"m", {"/nonexistent"}, 1, {}, {}}}, [](const message&) {},
      [&](error_code ec, const run_summary&) { missing = ec; });
  io.run();
  EXPECT_EQ(failed, errc::child_failed);
  EXPECT_EQ(missing, errc::spawn_failed);
  EXPECT_STREQ(failed.category().name(), "pipemux");
}

TEST(SupervisorAsync, UseFuture) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  sequence_checker check;
  std::future<run_summary> done = sup.async_run({spam(3, 1000)}, std::ref(check), asio::use_future);
  std::thread runner([&] { io.run(); });
  const run_summary summary = done.get();
  runner.join();
  EXPECT_EQ(summary.children.size(), 3u);
  EXPECT_EQ(check.total(), 3000u);
  EXPECT_EQ(check.errors(), 0u);
}

TEST(SupervisorAsync, UseFutureThrowsTheError) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  auto done = sup.async_run(
      {program_spec{"f", {"sh", "-c", "exit 2"}, 1, {}, {}}}, [](const message&) {},
      asio::use_future);
  io.run();
  try {
    done.get();
    FAIL() << "no exception";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), errc::child_failed);
  }
}

// A failed run with a throwing token loses its summary to the exception: asio::as_tuple keeps
// both (the documented way).
TEST(SupervisorAsync, AsTupleKeepsTheSummaryOfAFailedRunInACoroutine) {
  asio::io_context io;
  error_code ec;
  run_summary summary;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        supervisor sup(co_await asio::this_coro::executor);
        std::vector<program_spec> programs;
        programs.push_back(program_spec{"f", {"sh", "-c", "echo bye; exit 2"}, 1, {}, {}});
        std::tie(ec, summary) = co_await sup.async_run(
            std::move(programs), [](const message&) {}, asio::as_tuple(asio::use_awaitable));
      },
      asio::detached);
  io.run();
  EXPECT_EQ(ec, errc::child_failed);
  ASSERT_EQ(summary.children.size(), 1u);
  ASSERT_TRUE(summary.children[0].status);
  EXPECT_EQ(summary.children[0].status->code, 2);
  EXPECT_EQ(summary.children[0].messages, 1u);
}

// Counts what is allocated through it, to see that the operation uses the handler's allocator.
template <class T>
struct counting_allocator {
  using value_type = T;
  std::size_t* count;
  explicit counting_allocator(std::size_t* c) : count(c) {}
  template <class U>
  counting_allocator(const counting_allocator<U>& other) : count(other.count) {}
  T* allocate(std::size_t n) {
    ++*count;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const counting_allocator<U>& other) const {
    return count == other.count;
  }
};

TEST(SupervisorAsync, TheOperationStateUsesTheHandlersAllocator) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::size_t allocations = 0;
  bool done = false;
  sup.async_run(
      {program_spec{"t", {"true"}, 1, {}, {}}}, [](const message&) {},
      asio::bind_allocator(counting_allocator<void>(&allocations),
                           [&](error_code, const run_summary&) { done = true; }));
  io.run();
  EXPECT_TRUE(done);
  EXPECT_GT(allocations, 0u);
}

TEST(SupervisorAsync, UseAwaitable) {
  asio::io_context io;
  sequence_checker check;
  error_code result = asio::error::would_block;
  std::size_t children = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        supervisor sup(co_await asio::this_coro::executor);
        // (g++ 12 rejects a braced list or a structured binding in a co_await expression)
        std::vector<program_spec> programs;
        programs.push_back(spam(2, 500));
        auto outcome = co_await sup.async_run(std::move(programs), std::ref(check),
                                              asio::as_tuple(asio::use_awaitable));
        result = std::get<0>(outcome);
        children = std::get<1>(outcome).children.size();
      },
      asio::detached);
  io.run();
  EXPECT_FALSE(result) << result.message();
  EXPECT_EQ(children, 2u);
  EXPECT_EQ(check.total(), 1000u);
  EXPECT_EQ(check.errors(), 0u);
}

// Children write for ever and record how much they wrote; after the stop, all of it arrived.
void expect_drained(sequence_checker& check, const std::string& record, std::size_t children) {
  for (std::size_t i = 0; i < children; ++i) {
    std::uint64_t written = 0;
    std::ifstream(record + std::to_string(i)) >> written;
    EXPECT_GT(written, 0u);
    EXPECT_GE(check.next(i), written) << "child " << i << " lost output";
    EXPECT_LE(check.next(i), written + 1) << "child " << i;
  }
  EXPECT_EQ(check.errors(), 0u);
}

TEST(SupervisorAsync, PartialCancellationIsAGracefulStopThatDrainsOutput) {
  const std::string record = test::temp_path("pipemux_async_cancel_");
  asio::io_context io;
  supervisor sup(io.get_executor());
  asio::cancellation_signal cancel;
  sequence_checker check;
  error_code result;
  std::optional<run_summary> summary;
  bool emitted = false;
  sup.async_run(
      {spam(4, 0, record)},
      [&](const message& m) {
        check(m);
        if (!emitted && check.each_delivered(4, 100)) {
          emitted = true;
          cancel.emit(asio::cancellation_type::partial);
        }
      },
      asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, run_summary s) {
        result = ec;
        summary = std::move(s);
      }));
  io.run();
  EXPECT_EQ(result, asio::error::operation_aborted);
  ASSERT_TRUE(summary);
  EXPECT_TRUE(summary->stopped);
  for (const auto& c : summary->children) {
    ASSERT_TRUE(c.status);
    EXPECT_EQ(c.status->signal, SIGTERM);
    EXPECT_TRUE(c.stopped);
    EXPECT_FALSE(c.failed());
  }
  expect_drained(check, record, 4);
}

TEST(SupervisorAsync, StopFromAnotherThreadDrainsOutput) {
  const std::string record = test::temp_path("pipemux_async_stop_");
  asio::io_context io;
  supervisor sup(io.get_executor());
  sequence_checker check;
  error_code result;
  sup.async_run({spam(4, 0, record)}, std::ref(check),
                [&](error_code ec, const run_summary&) { result = ec; });
  std::thread stopper([&] {
    while (!check.each_delivered(4, 100)) std::this_thread::sleep_for(1ms);
    sup.stop();
  });
  io.run();
  stopper.join();
  EXPECT_EQ(result, asio::error::operation_aborted);
  expect_drained(check, record, 4);
}

TEST(SupervisorAsync, TwoSupervisorsOnOneIoContextDoNotDisturbEachOther) {
  asio::io_context io;
  supervisor first(io.get_executor()), second(io.get_executor());
  sequence_checker check_first, check_second;
  int done = 0;
  first.async_run({spam(16, 10000)}, std::ref(check_first), [&](error_code ec, const run_summary&) {
    EXPECT_FALSE(ec);
    ++done;
  });
  second.async_run({spam(16, 10000)}, std::ref(check_second),
                   [&](error_code ec, const run_summary&) {
                     EXPECT_FALSE(ec);
                     ++done;
                   });
  io.run();
  EXPECT_EQ(done, 2);
  EXPECT_EQ(check_first.total(), 160000u);
  EXPECT_EQ(check_second.total(), 160000u);
  EXPECT_EQ(check_first.errors() + check_second.errors(), 0u);
}

TEST(SupervisorAsync, OneSupervisorOnAnIoContextRunByTwoThreads) {
  asio::io_context io(2);
  supervisor sup(io.get_executor());
  sequence_checker check;
  std::atomic<int> in_handler{0}, overlaps{0};
  std::atomic<bool> done{false};
  sup.async_run(
      {spam(16, 10000)},
      [&](const message& m) {
        if (in_handler.fetch_add(1) != 0) ++overlaps;  // the strand serialises handlers
        check(m);
        in_handler.fetch_sub(1);
      },
      [&](error_code ec, const run_summary&) {
        EXPECT_FALSE(ec);
        done = true;
      });
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  EXPECT_TRUE(done);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(check.total(), 160000u);
  EXPECT_EQ(check.errors(), 0u);
}

TEST(SupervisorAsync, CancellationAfterTheSupervisorIsGoneIsHarmless) {
  asio::io_context io;
  asio::cancellation_signal cancel;
  {
    supervisor sup(io.get_executor());
    sup.async_run(
        {program_spec{"sleeper", {"sleep", "1000"}, 1, {}, {}}}, [](const message&) {},
        [&](const child_event& e) {
          if (e.kind == child_event_kind::started) io.stop();
        },
        asio::bind_cancellation_slot(cancel.slot(), [](error_code, const run_summary&) {}));
    io.run();
  }
  cancel.emit(asio::cancellation_type::terminal);  // the slot's handler must not reach it
  io.restart();
  io.run();
}

TEST(SupervisorAsync, ConstructionRejectsUnusableOptions) {
  asio::io_context io;
  run_options bad;
  bad.read_size = 0;
  EXPECT_THROW(supervisor(io.get_executor(), bad), std::invalid_argument);
  bad = {};
  bad.stop_signal = 0;
  EXPECT_THROW(supervisor(io.get_executor(), bad), std::invalid_argument);
  for (const int cannot_end : {SIGSTOP, SIGCONT, SIGCHLD}) {  // a child would run on
    bad.stop_signal = cannot_end;
    EXPECT_THROW(supervisor(io.get_executor(), bad), std::invalid_argument) << cannot_end;
  }
}

TEST(SupervisorAsync, DestroyingTheSupervisorMidRunKillsItsChildren) {
  asio::io_context io;
  int pid = -1;
  error_code result = asio::error::would_block;
  {
    auto sup = std::make_unique<supervisor>(io.get_executor());
    sup->async_run(
        {program_spec{"sleeper", {"sleep", "1000"}, 1, {}, {}}}, [](const message&) {},
        [&](const child_event& e) {
          if (e.kind == child_event_kind::started) {
            pid = e.child->pid;
            io.stop();
          }
        },
        [&](error_code ec, const run_summary&) { result = ec; });
    io.run();
    ASSERT_GT(pid, 0);
  }
  // As an Asio I/O object's pending operation: completed with operation_aborted, but later,
  // from the io_context, not from inside the destructor.
  EXPECT_EQ(result, asio::error::would_block);
  io.restart();
  io.run();  // the pending wait reaps the killed child
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_TRUE(test::process_group_gone(pid, 2s));
}

// A child that says "up", then "term" when it gets SIGTERM; otherwise it runs for ever. (The
// shell's own "Terminated" for its sleep, which gets the signal too, goes to /dev/null.)
program_spec polite_child() {
  return {
      "polite",
      {"sh", "-c",
       "exec 2>/dev/null; trap 'echo term; exit 0' TERM; echo up; while :; do sleep 0.05; done"},
      1,
      {},
      {}};
}

struct cancelled_run {
  std::vector<std::string> lines;
  error_code result = asio::error::would_block;
  std::optional<run_summary> summary;
};

// Runs polite_child() and emits `type` on the run's slot once it said "up".
cancelled_run cancel_after_up(asio::cancellation_type type, program_spec child = polite_child()) {
  asio::io_context io;
  run_options options;
  options.stop_grace = 60s;  // a SIGKILL can only come from the cancellation itself
  supervisor sup(io.get_executor(), options);
  asio::cancellation_signal cancel;
  cancelled_run run;
  sup.async_run(
      {std::move(child)},
      [&](const message& m) {
        run.lines.emplace_back(m.bytes);
        if (m.bytes == "up") cancel.emit(type);
      },
      asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, run_summary s) {
        run.result = ec;
        run.summary = std::move(s);
      }));
  io.run();
  return run;
}

TEST(SupervisorAsync, TerminalCancellationKillsAtOnceAndStillDrains) {
  const auto run = cancel_after_up(asio::cancellation_type::terminal);
  EXPECT_EQ(run.result, asio::error::operation_aborted);
  ASSERT_TRUE(run.summary);
  const auto& child = run.summary->children.at(0);
  ASSERT_TRUE(child.status);
  EXPECT_EQ(child.status->signal, SIGKILL);  // not after the 60 s grace: the test would time out
  EXPECT_EQ(run.lines, std::vector<std::string>{"up"});
}

TEST(SupervisorAsync, PartialCancellationSendsTheStopSignal) {
  const auto run = cancel_after_up(asio::cancellation_type::partial);
  EXPECT_EQ(run.result, asio::error::operation_aborted);
  ASSERT_TRUE(run.summary);
  const auto& child = run.summary->children.at(0);
  ASSERT_TRUE(child.status);
  EXPECT_EQ(child.status->code, 0);
  EXPECT_TRUE(child.stopped);
  EXPECT_EQ(run.lines, (std::vector<std::string>{"up", "term"}));
}

TEST(SupervisorAsync, TotalCancellationAloneIsNotSupportedAndIgnored) {
  const auto run =
      cancel_after_up(asio::cancellation_type::total,
                      {"brief", {"sh", "-c", "echo up; sleep 0.2; echo done"}, 1, {}, {}});
  EXPECT_FALSE(run.result) << run.result.message();
  ASSERT_TRUE(run.summary);
  EXPECT_FALSE(run.summary->children.at(0).stopped);
  EXPECT_EQ(run.lines, (std::vector<std::string>{"up", "done"}));
}

TEST(SupervisorAsync, NothingHappensInsideAsyncRunEvenFromAHandlerOnTheContext) {
  asio::io_context io;
  supervisor empty(io.get_executor());
  supervisor one(io.get_executor());
  bool empty_done = false;
  bool one_done = false;
  bool started = false;
  bool checked = false;
  asio::post(io, [&] {
    empty.async_run(
        {}, [](const message&) {}, [&](error_code, const run_summary&) { empty_done = true; });
    one.async_run(
        {program_spec{"t", {"true"}, 1, {}, {}}}, [](const message&) {},
        [&](const child_event& e) { started = started || e.kind == child_event_kind::started; },
        [&](error_code, const run_summary&) { one_done = true; });
    // An empty run completes at once, and the first fork is due at once: but not in here.
    EXPECT_FALSE(empty_done);
    EXPECT_FALSE(started);
    EXPECT_TRUE(test::children_of(::getpid()).empty());
    checked = true;
  });
  io.run();
  EXPECT_TRUE(checked);
  EXPECT_TRUE(empty_done);
  EXPECT_TRUE(one_done);
  EXPECT_TRUE(started);
}

TEST(SupervisorAsync, ASecondAsyncRunCompletesWithAlreadyStartedAndLeavesTheFirstAlone) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  sequence_checker first_messages;
  std::size_t second_messages = 0;
  error_code first = asio::error::would_block;
  error_code second = asio::error::would_block;
  std::optional<run_summary> first_summary, second_summary;
  sup.async_run({spam(1, 100)}, std::ref(first_messages), [&](error_code ec, run_summary s) {
    first = ec;
    first_summary = std::move(s);
  });
  sup.async_run(
      {spam(2, 100)}, [&](const message&) { ++second_messages; },
      [&](error_code ec, run_summary s) {
        second = ec;
        second_summary = std::move(s);
      });
  io.run();
  EXPECT_EQ(second, errc::already_started);
  ASSERT_TRUE(second_summary);
  EXPECT_TRUE(second_summary->children.empty());
  EXPECT_EQ(second_messages, 0u);
  EXPECT_FALSE(first) << first.message();
  ASSERT_TRUE(first_summary);
  EXPECT_EQ(first_summary->children.size(), 1u);
  EXPECT_EQ(first_messages.total(), 100u);
  EXPECT_EQ(first_messages.errors(), 0u);
}

TEST(SupervisorAsync, DestroyingTheSupervisorFromOnMessageEndsEveryCallback) {
  asio::io_context io;
  auto sup = std::make_unique<supervisor>(io.get_executor());
  std::size_t messages = 0;
  std::size_t events_after = 0;
  error_code result = asio::error::would_block;
  // 20,000 lines at once: the first read holds thousands, delivered in one loop.
  sup->async_run(
      {program_spec{"burst", {"seq", "1", "20000"}, 1, {}, {}}},
      [&](const message&) {
        if (++messages == 1) sup.reset();  // the owner goes away from inside its callback
      },
      [&](const child_event& e) {
        events_after += messages > 0 && e.kind != child_event_kind::started;
      },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  EXPECT_EQ(messages, 1u);
  EXPECT_EQ(events_after, 0u);
  EXPECT_EQ(result, asio::error::operation_aborted);
}

// stop_on is the run's own rule, not a cancellation: the outcome says who ended the run.
TEST(SupervisorAsync, AStopOnEndIsNotACancellationAndNamesTheChildThatEndedTheRun) {
  const auto run_with = [](stop_condition when, const std::string& script) {
    asio::io_context io;
    run_options options;
    options.stop_on = when;
    supervisor sup(io.get_executor(), options);
    std::pair<error_code, run_summary> outcome;
    sup.async_run(
        {program_spec{"sleeper", {"sleep", "1000"}, 1, {}, {}},
         program_spec{"ender", {"sh", "-c", script}, 1, {}, {}}},
        [](const message&) {},
        [&](error_code ec, run_summary s) {
          outcome = {ec, std::move(s)};
        });
    io.run();
    return outcome;
  };
  const auto [failed, failed_summary] = run_with(stop_condition::any_failure, "exit 3");
  EXPECT_EQ(failed, errc::child_failed);
  EXPECT_EQ(failed_summary.ended_by, std::optional<std::size_t>(1));
  EXPECT_TRUE(failed_summary.stopped);
  EXPECT_FALSE(failed_summary.children.at(0).failed());  // the sleeper was stopped, not failed
  const auto [exited, exited_summary] = run_with(stop_condition::any_exit, "exit 0");
  EXPECT_FALSE(exited) << exited.message();
  EXPECT_EQ(exited_summary.ended_by, std::optional<std::size_t>(1));
  EXPECT_TRUE(exited_summary.children.at(0).stopped);
}

TEST(SupervisorAsync, ACallbackThatThrowsStopsTheRunWhichCompletesWithTheException) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::size_t messages = 0;
  std::optional<std::pair<error_code, run_summary>> outcome;
  // Ten lines, then it would run for ever: only a stop ends it (no hang, no lost completion).
  sup.async_run(
      {program_spec{"chatty", {"sh", "-c", "seq 1 10; exec sleep 1000"}, 1, {}, {}}},
      [&](const message&) {
        if (++messages == 3) throw std::runtime_error("the consumer broke");
      },
      [&](error_code ec, run_summary s) { outcome.emplace(ec, std::move(s)); });
  io.run();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->first, errc::callback_threw);
  EXPECT_EQ(messages, 3u);  // none after the throw
  ASSERT_TRUE(outcome->second.callback_exception);
  try {
    std::rethrow_exception(outcome->second.callback_exception);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the consumer broke");
  }
  EXPECT_TRUE(outcome->second.children.at(0).stopped);
}

TEST(SupervisorAsync, AnEmptyMessageHandlerCountsTheOutputOnly) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::optional<std::pair<error_code, run_summary>> outcome;
  sup.async_run({program_spec{"counted", {"seq", "1", "1000"}, 1, {}, {}}}, {},
                [&](error_code ec, run_summary s) { outcome.emplace(ec, std::move(s)); });
  io.run();
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->first) << outcome->first.message();
  EXPECT_EQ(outcome->second.children.at(0).messages, 1000u);
}

}  // namespace
}  // namespace pipemux
