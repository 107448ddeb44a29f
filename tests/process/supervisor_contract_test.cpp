// The supervisor's Asio contract, as a consumer relies on it (issue 23): callbacks that stay alive
// while they run, completions that are never made inline, cancellation of async_receive, a
// destructor that leaves no child behind whatever the io_context is doing, and the conventions
// of an Asio I/O object. Real children, a real io_context.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "pipemux/supervisor.hpp"
#include "run_command.hpp"

namespace pipemux {
namespace {
namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

program_spec sh(std::string name, std::string script) {
  return {std::move(name), {"sh", "-c", std::move(script)}, 1, {}, {}};
}

// A child that says "up", then "term" when it gets SIGTERM; otherwise it runs for ever.
program_spec polite_child() {
  return sh("polite",
            "exec 2>/dev/null; trap 'echo term; exit 0' TERM; echo up; while :; do sleep 0.05; "
            "done");
}

bool process_exists(int pid) {  // a zombie exists too
  struct stat st {};
  return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

// What a callback captures: `watch` expires when the callback object is destroyed.
struct capture_watch {
  std::shared_ptr<int> token = std::make_shared<int>(42);
  std::weak_ptr<int> watch = token;
};

// Item 1: the callback that destroys the supervisor (or stops the run, which ends it) is still
// running: its captures must still be alive when it goes on after that call.
TEST(SupervisorContract, DestroyingTheSupervisorInsideOnMessageKeepsTheRunningCallbackAlive) {
  asio::io_context io;
  auto sup = std::make_unique<supervisor>(io.get_executor());
  capture_watch w;
  std::optional<bool> alive_after_reset;
  error_code result = asio::error::would_block;
  sup->async_run(
      {sh("burst", "seq 1 1000")},
      [&, token = std::move(w.token)](const message&) {
        if (alive_after_reset) return;
        sup.reset();
        alive_after_reset = !w.watch.expired();
        if (*alive_after_reset) EXPECT_EQ(*token, 42);  // ASan: a freed capture
      },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  ASSERT_TRUE(alive_after_reset);
  EXPECT_TRUE(*alive_after_reset) << "the running on_message was destroyed under it";
  EXPECT_TRUE(w.watch.expired()) << "released once it returned";
  EXPECT_EQ(result, asio::error::operation_aborted);
}

TEST(SupervisorContract, DestroyingTheSupervisorInsideOnEventKeepsTheRunningCallbackAlive) {
  asio::io_context io;
  auto sup = std::make_unique<supervisor>(io.get_executor());
  capture_watch w;
  std::optional<bool> alive_after_reset;
  sup->async_run(
      {sh("quick", "exit 0")}, [](const message&) {},
      [&, token = std::move(w.token)](const child_event& e) {
        if (e.kind != child_event_kind::exited || alive_after_reset) return;
        sup.reset();
        alive_after_reset = !w.watch.expired();
        if (*alive_after_reset) EXPECT_EQ(*token, 42);
      },
      [](error_code, const run_summary&) {});
  io.run();
  ASSERT_TRUE(alive_after_reset);
  EXPECT_TRUE(*alive_after_reset) << "the running on_event was destroyed under it";
}

TEST(SupervisorContract, DestroyingTheSupervisorInsideOnBatchKeepsTheRunningCallbackAlive) {
  asio::io_context io;
  auto sup = std::make_unique<supervisor>(io.get_executor());
  capture_watch w;
  std::optional<bool> alive_after_reset;
  sup->async_run_batched(
      {sh("burst", "seq 1 1000")},
      [&, token = std::move(w.token)](message_batch) {
        if (alive_after_reset) return;
        sup.reset();
        alive_after_reset = !w.watch.expired();
        if (*alive_after_reset) EXPECT_EQ(*token, 42);
      },
      {}, [](error_code, const run_summary&) {});
  io.run();
  ASSERT_TRUE(alive_after_reset);
  EXPECT_TRUE(*alive_after_reset) << "the running on_batch was destroyed under it";
}

// stop() ends the run at once when nothing runs any more: the last child could not start, or
// waits to restart. The on_event that called it is still running.
TEST(SupervisorContract, StopInsideOnEventOfTheLastChildKeepsTheRunningCallbackAlive) {
  for (const bool restart : {false, true}) {
    SCOPED_TRACE(restart ? "restarting" : "spawn_failed");
    asio::io_context io;
    run_options options;
    options.restart.mode = restart_mode::on_failure;
    options.restart.initial_delay = 30s;
    supervisor sup(io.get_executor(), options);
    capture_watch w;
    std::optional<bool> alive_after_stop;
    error_code result = asio::error::would_block;
    const auto kind = restart ? child_event_kind::restarting : child_event_kind::spawn_failed;
    sup.async_run(
        {restart ? sh("fails", "exit 1") : program_spec{"missing", {"/nonexistent/x"}, 1, {}, {}}},
        [](const message&) {},
        [&, token = std::move(w.token)](const child_event& e) {
          if (e.kind != kind || alive_after_stop) return;
          sup.stop();
          alive_after_stop = !w.watch.expired();
          if (*alive_after_stop) EXPECT_EQ(*token, 42);
        },
        [&](error_code ec, const run_summary&) { result = ec; });
    io.run();
    ASSERT_TRUE(alive_after_stop);
    EXPECT_TRUE(*alive_after_stop) << "the running on_event was destroyed under it";
    EXPECT_EQ(result, asio::error::operation_aborted);
  }
}

// Item 2: destroying the supervisor inside on_event(started) or on_event(stop_escalated), with
// nothing done after it, crashed (the child's process was reset under spawn() and kill_now()).
TEST(SupervisorContract, DestroyingTheSupervisorInsideOnEventStartedDoesNotCrash) {
  asio::io_context io;
  auto sup = std::make_unique<supervisor>(io.get_executor());
  int pid = -1;
  error_code result = asio::error::would_block;
  sup->async_run(
      {program_spec{"sleeper", {"sleep", "1000"}, 1, {}, {}}}, [](const message&) {},
      [&](const child_event& e) {
        if (e.kind != child_event_kind::started) return;
        pid = e.child->pid;
        sup.reset();
      },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  EXPECT_EQ(result, asio::error::operation_aborted);
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(process_exists(pid));
}

TEST(SupervisorContract, DestroyingTheSupervisorInsideOnEventStopEscalatedDoesNotCrash) {
  asio::io_context io;
  auto sup = std::make_unique<supervisor>(io.get_executor());
  program_spec stubborn =
      sh("stubborn", "exec 2>/dev/null; trap '' TERM; echo up; while :; do sleep 0.05; done");
  stubborn.stop_grace = 100ms;
  int pid = -1;
  bool escalated = false;
  error_code result = asio::error::would_block;
  sup->async_run(
      {stubborn},
      [&](const message& m) {
        pid = m.child->pid;
        if (m.bytes == "up") sup->stop();
      },
      [&](const child_event& e) {
        if (e.kind != child_event_kind::stop_escalated) return;
        escalated = true;
        sup.reset();
      },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  EXPECT_TRUE(escalated);
  EXPECT_EQ(result, asio::error::operation_aborted);
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(process_exists(pid));
}

// Item 3: a pending receive is cancelled at once, and the batch that comes later waits for the
// next receive; so `receive || timer` neither waits for the batch nor loses it.
TEST(SupervisorContract, AReceiveRacingATimerIsCancelledAtOnceAndLosesNoBatch) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  supervisor sup(io.get_executor());
  sup.async_run_batched({sh("late", "sleep 2; echo late")}, {}, {},
                        [](error_code, const run_summary&) {});
  std::optional<std::size_t> winner;
  steady::duration raced{};
  std::vector<std::string> lines;
  error_code end;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, 200ms);
        const auto began = steady::now();
        auto first = co_await (sup.async_receive(asio::as_tuple(asio::use_awaitable)) ||
                               timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        raced = steady::now() - began;
        winner = first.index();
        for (;;) {
          auto [ec, batch] = co_await sup.async_receive(asio::as_tuple(asio::use_awaitable));
          if (ec) {
            end = ec;
            break;
          }
          for (const auto& m : batch) lines.emplace_back(m.bytes);
        }
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(winner);
  EXPECT_EQ(*winner, 1u) << "the timer wins";
  EXPECT_LT(raced, 1500ms) << "the receive waited for the batch instead of being cancelled";
  EXPECT_EQ(lines, std::vector<std::string>{"late"});
  EXPECT_EQ(end, asio::error::eof);
}

TEST(SupervisorContract, ATerminalCancellationOfAReceiveCompletesItWithOperationAborted) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  sup.async_run_batched({sh("late", "sleep 0.5; echo late")}, {}, {},
                        [](error_code, const run_summary&) {});
  asio::cancellation_signal cancel;
  std::optional<error_code> cancelled;
  std::vector<std::string> lines;
  error_code end;
  std::function<void()> receive_rest = [&] {
    sup.async_receive([&](error_code ec, message_batch batch) {
      if (ec) {
        end = ec;
        return;
      }
      for (const auto& m : batch) lines.emplace_back(m.bytes);
      receive_rest();
    });
  };
  sup.async_receive(
      asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, message_batch batch) {
        cancelled = ec;
        for (const auto& m : batch) lines.emplace_back(m.bytes);
        receive_rest();
      }));
  asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
  io.run();
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(*cancelled, asio::error::operation_aborted);
  EXPECT_EQ(lines, std::vector<std::string>{"late"});
  EXPECT_EQ(end, asio::error::eof);
}

// The receive took its batch, but the cancellation came before its handler ran (the handler
// waits on an io_context not run yet): the batch goes back to the front of the queue rather than
// to a handler that is told it lost.
TEST(SupervisorContract, AReceiveCancelledBeforeItsHandlerRanLeavesTheBatchQueued) {
  asio::io_context io;
  asio::io_context handler_io;
  supervisor sup(io.get_executor());
  sup.async_run_batched({sh("early", "echo early")}, {}, {}, [](error_code, const run_summary&) {});
  asio::cancellation_signal cancel;
  std::optional<error_code> cancelled;
  std::vector<std::string> lines;
  sup.async_receive(asio::bind_cancellation_slot(
      cancel.slot(), asio::bind_executor(handler_io, [&](error_code ec, message_batch batch) {
        cancelled = ec;
        for (const auto& m : batch) lines.emplace_back("lost: " + std::string(m.bytes));
      })));
  // Time for the child to write and for the receive to take the batch. (On a machine too slow
  // for that, the receive is still pending when cancelled: the outcome is the same.)
  io.run_for(500ms);
  cancel.emit(asio::cancellation_type::terminal);
  handler_io.run();
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(*cancelled, asio::error::operation_aborted);
  error_code end;
  std::function<void()> receive_rest = [&] {
    sup.async_receive([&](error_code ec, message_batch batch) {
      if (ec) {
        end = ec;
        return;
      }
      for (const auto& m : batch) lines.emplace_back(m.bytes);
      receive_rest();
    });
  };
  receive_rest();
  io.run();
  EXPECT_EQ(lines, std::vector<std::string>{"early"});
  EXPECT_EQ(end, asio::error::eof);
}

// Item 4: the run's completion is always posted: never made inside stop(), inside a
// cancellation signal's emit(), or inside the on_event that stopped the run.
TEST(SupervisorContract, TheRunsCompletionIsNeverMadeInsideStopEmitOrACallback) {
  enum class how { stop_from_a_handler, emit_from_a_handler, stop_from_on_event };
  for (const how way :
       {how::stop_from_a_handler, how::emit_from_a_handler, how::stop_from_on_event}) {
    SCOPED_TRACE(static_cast<int>(way));
    asio::io_context io;
    run_options options;
    options.restart.mode = restart_mode::on_failure;
    options.restart.initial_delay = 30s;  // it waits to restart: a stop completes the run at once
    supervisor sup(io.get_executor(), options);
    asio::cancellation_signal cancel;
    bool inside = false;
    std::optional<bool> completed_inside;
    sup.async_run(
        {sh("fails", "exit 1")}, [](const message&) {},
        [&](const child_event& e) {
          if (e.kind != child_event_kind::restarting) return;
          if (way == how::stop_from_on_event) {
            inside = true;
            sup.stop();
            inside = false;
            return;
          }
          asio::post(io, [&] {  // from a handler on the io_context, not the supervisor's strand
            inside = true;
            if (way == how::stop_from_a_handler)
              sup.stop();
            else
              cancel.emit(asio::cancellation_type::partial);
            inside = false;
          });
        },
        asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, const run_summary&) {
          EXPECT_EQ(ec, asio::error::operation_aborted);
          completed_inside = inside;
        }));
    io.run();
    ASSERT_TRUE(completed_inside);
    EXPECT_FALSE(*completed_inside);
  }
}

// Item 5: a rejected second run keeps no handler on its slot: emitting there is harmless.
TEST(SupervisorContract, EmittingOnTheSlotOfARejectedRunLeavesTheFirstRunAlone) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::vector<std::string> lines;
  error_code first = asio::error::would_block;
  error_code second = asio::error::would_block;
  sup.async_run(
      {sh("brief", "echo up; sleep 0.3; echo done")},
      [&](const message& m) { lines.emplace_back(m.bytes); },
      [&](error_code ec, const run_summary&) { first = ec; });
  asio::cancellation_signal cancel;
  sup.async_run(
      {sh("second", "true")}, [](const message&) {},
      asio::bind_cancellation_slot(cancel.slot(),
                                   [&](error_code ec, const run_summary&) { second = ec; }));
  cancel.emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_EQ(second, errc::already_started);
  EXPECT_FALSE(first) << first.message();
  EXPECT_EQ(lines, (std::vector<std::string>{"up", "done"}));
}

// Item 6: the operation's memory, from the handler's allocator, is freed before the upcall.
template <class T>
struct live_allocator {
  using value_type = T;
  std::size_t* live;
  explicit live_allocator(std::size_t* l) : live(l) {}
  template <class U>
  live_allocator(const live_allocator<U>& other) : live(other.live) {}
  T* allocate(std::size_t n) {
    *live += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) {
    *live -= n * sizeof(T);
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const live_allocator<U>& other) const {
    return live == other.live;
  }
};

TEST(SupervisorContract, TheHandlersAllocatorMemoryIsFreedBeforeTheUpcall) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::size_t live_run = 0;
  std::size_t live_receive = 0;
  std::optional<std::size_t> live_at_run_upcall, live_at_receive_upcall;
  sup.async_run_batched(
      {sh("t", "true")}, {}, {},
      asio::bind_allocator(live_allocator<void>(&live_run),
                           [&](error_code, const run_summary&) { live_at_run_upcall = live_run; }));
  sup.async_receive(
      asio::bind_allocator(live_allocator<void>(&live_receive), [&](error_code ec, message_batch) {
        EXPECT_EQ(ec, asio::error::eof);
        live_at_receive_upcall = live_receive;
      }));
  io.run();
  ASSERT_TRUE(live_at_run_upcall);
  EXPECT_EQ(*live_at_run_upcall, 0u);
  ASSERT_TRUE(live_at_receive_upcall);
  EXPECT_EQ(*live_at_receive_upcall, 0u);
}

// A handler that may be called once only, as an rvalue (as a coroutine's handler is).
struct rvalue_only_handler {
  std::optional<error_code>* outcome;
  void operator()(error_code ec, const run_summary&) && { *outcome = ec; }
  void operator()(error_code ec, message_batch) && { *outcome = ec; }
};

TEST(SupervisorContract, AHandlerCallableOnlyAsAnRvalueIsAccepted) {
  asio::io_context io;
  supervisor sup(io.get_executor());
  std::optional<error_code> run, receive;
  sup.async_run_batched({sh("t", "true")}, {}, {}, rvalue_only_handler{&run});
  sup.async_receive(rvalue_only_handler{&receive});
  io.run();
  ASSERT_TRUE(run);
  EXPECT_FALSE(*run) << run->message();
  ASSERT_TRUE(receive);
  EXPECT_EQ(*receive, asio::error::eof);
}

// Item 7: `all` (or terminal | partial) asks for the mildest of the types it holds: a graceful
// stop, not SIGKILL.
TEST(SupervisorContract, ACombinedCancellationTypeStopsGracefully) {
  using asio::cancellation_type;
  for (const auto type :
       {cancellation_type::all, cancellation_type::terminal | cancellation_type::partial}) {
    SCOPED_TRACE(static_cast<int>(type));
    asio::io_context io;
    run_options options;
    options.stop_grace = 60s;  // a SIGKILL could only come from the cancellation itself
    supervisor sup(io.get_executor(), options);
    asio::cancellation_signal cancel;
    std::vector<std::string> lines;
    std::optional<run_summary> summary;
    error_code result;
    sup.async_run(
        {polite_child()},
        [&](const message& m) {
          lines.emplace_back(m.bytes);
          if (m.bytes == "up") cancel.emit(type);
        },
        asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, run_summary s) {
          result = ec;
          summary = std::move(s);
        }));
    io.run();
    EXPECT_EQ(result, asio::error::operation_aborted);
    ASSERT_TRUE(summary);
    const auto& status = summary->children.at(0).status;
    ASSERT_TRUE(status);
    EXPECT_EQ(status->signal, 0) << "killed by " << status->signal;
    EXPECT_EQ(status->code, 0);
    EXPECT_EQ(lines, (std::vector<std::string>{"up", "term"}));
  }
}

// Item 8: the destructor leaves no child running and no zombie, even when the io_context will
// not run again (stopped with io.stop()).
TEST(SupervisorContract, TheDestructorLeavesNoChildAndNoZombieWhenTheIoContextIsStopped) {
  asio::io_context io;
  std::vector<int> pids;
  {
    supervisor sup(io.get_executor());
    sup.async_run(
        {program_spec{"sleeper", {"sleep", "1000"}, 2, {}, {}}}, [](const message&) {},
        [&](const child_event& e) {
          if (e.kind != child_event_kind::started) return;
          pids.push_back(e.child->pid);
          if (pids.size() == 2) io.stop();
        },
        [](error_code, const run_summary&) {});
    io.run();
    ASSERT_EQ(pids.size(), 2u);
  }
  for (const int pid : pids) EXPECT_FALSE(process_exists(pid)) << pid << " outlived it";
  EXPECT_EQ(test::children_of(::getpid()), std::vector<int>{}) << "the guard, or a zombie";
}

// The same on an io_context run by two threads, the supervisor destroyed from a third while
// output flows.
TEST(SupervisorContract, TheDestructorLeavesNoChildWhileTwoThreadsRunTheIoContext) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread a([&] { io.run(); });
  std::thread b([&] { io.run(); });
  std::vector<int> pids;
  {
    supervisor sup(io.get_executor());
    std::atomic<int> started{0};
    std::mutex mutex;
    sup.async_run(
        {program_spec{"chatty", {"sh", "-c", "while :; do echo x; done"}, 2, {}, {}}},
        [](const message&) {},
        [&](const child_event& e) {
          if (e.kind != child_event_kind::started) return;
          std::lock_guard lock(mutex);
          pids.push_back(e.child->pid);
          ++started;
        },
        [](error_code, const run_summary&) {});
    ASSERT_TRUE(test::eventually([&] { return started == 2; }));
  }
  for (const int pid : pids) EXPECT_FALSE(process_exists(pid)) << pid << " outlived it";
  work.reset();
  a.join();
  b.join();
}

// Item 11: on several threads, the destructor waits for a callback that is running elsewhere.
TEST(SupervisorContract, TheDestructorWaitsForACallbackRunningOnAnotherThread) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread a([&] { io.run(); });
    std::thread b([&] { io.run(); });
    std::atomic<bool> in_callback{false};
    std::atomic<bool> returned_while_running{false};
    {
      supervisor sup(io.get_executor());
      sup.async_run(
          {sh("chatty", "while :; do echo x; sleep 0.01; done")},
          [&](const message&) {
            in_callback = true;
            std::this_thread::sleep_for(50ms);
            in_callback = false;
          },
          [](error_code, const run_summary&) {});
      ASSERT_TRUE(test::eventually([&] { return in_callback.load(); }));
    }
    returned_while_running = in_callback.load();
    work.reset();
    a.join();
    b.join();
    EXPECT_FALSE(returned_while_running) << "attempt " << attempt;
  }
}

// Item 13: what no run can use is refused by async_run itself, naming the program, as the
// constructor refuses unusable run_options.
TEST(SupervisorContract, UnusableProgramSpecsAreRefusedByAsyncRun) {
  asio::io_context io;
  const auto refused = [&](std::vector<program_spec> programs) {
    supervisor sup(io.get_executor());
    bool completed = false;
    try {
      sup.async_run(
          std::move(programs), [](const message&) {},
          [&](error_code, const run_summary&) { completed = true; });
    } catch (const std::invalid_argument& e) {
      io.restart();
      io.run();
      return std::string(e.what()) + (completed ? " (and completed)" : "");
    }
    io.restart();
    io.run();
    return std::string();
  };
  program_spec bad_signal = sh("sig", "true");
  bad_signal.stop_signal = 0;
  EXPECT_NE(refused({bad_signal}), "");
  bad_signal.stop_signal = SIGSTOP;
  EXPECT_NE(refused({bad_signal}), "");
  program_spec bad_grace = sh("grace", "true");
  bad_grace.stop_grace = -1ms;
  EXPECT_NE(refused({bad_grace}), "");
  EXPECT_NE(refused({sh("twice", "true"), sh("twice", "true")}), "");
  // Not refused: the CLI names a program after its file, whatever its bytes (the log escapes it).
  EXPECT_EQ(refused({sh("two\nlines", "true")}), "");
  EXPECT_NE(refused({sh("", "true")}), "");
  EXPECT_EQ(refused({sh("fine", "true"), sh("also-fine", "true")}), "");
}

// Item 12: the conventions of an Asio I/O object.
static_assert(std::is_move_constructible_v<supervisor> && std::is_move_assignable_v<supervisor>);
static_assert(!std::is_copy_constructible_v<supervisor>);
static_assert(std::is_constructible_v<supervisor, asio::io_context&>);
static_assert(std::is_same_v<supervisor::executor_type, asio::any_io_executor>);

TEST(SupervisorContract, ConventionsAMovedSupervisorRunsAndAMoveAssignmentAbandonsTheOldRun) {
  asio::io_context io;
  supervisor first(io);  // from the execution context itself
  int sleeper = -1;
  error_code abandoned = asio::error::would_block;
  first.async_run(
      {program_spec{"sleeper", {"sleep", "1000"}, 1, {}, {}}}, [](const message&) {},
      [&](const child_event& e) {
        if (e.kind == child_event_kind::started) sleeper = e.child->pid;
      },
      [&](error_code ec, const run_summary&) { abandoned = ec; });
  while (sleeper < 0) io.run_one();
  supervisor moved(std::move(first));
  EXPECT_EQ(moved.get_executor(), asio::any_io_executor(io.get_executor()));
  supervisor other(io.get_executor());
  moved = std::move(other);  // the sleeper's run is abandoned, as by the destructor
  EXPECT_FALSE(process_exists(sleeper));
  std::vector<std::string> lines;
  error_code result = asio::error::would_block;
  moved.async_run(
      {sh("echo", "echo hi")}, [&](const message& m) { lines.emplace_back(m.bytes); },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  EXPECT_EQ(abandoned, asio::error::operation_aborted);
  EXPECT_FALSE(result) << result.message();
  EXPECT_EQ(lines, std::vector<std::string>{"hi"});
}

TEST(SupervisorContract, ConventionsAsDefaultOnGivesItADefaultCompletionToken) {
  asio::io_context io;
  std::vector<std::string> lines;
  std::optional<std::size_t> children;
  error_code end;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sup = asio::use_awaitable_t<>::as_default_on(supervisor(io));
        std::vector<program_spec> programs;
        programs.push_back(sh("echo", "echo hi"));
        const run_summary summary = co_await sup.async_run(
            std::move(programs), [&](const message& m) { lines.emplace_back(m.bytes); });
        children = summary.children.size();
        auto pull = asio::as_tuple(asio::use_awaitable_t<>{}).as_default_on(supervisor(io));
        std::vector<program_spec> more;
        more.push_back(sh("more", "echo more"));
        // Not awaited: a pull run ends once its batches are received.
        pull.async_run_batched(std::move(more), {}, {}, asio::detached);
        for (;;) {
          auto [ec, batch] = co_await pull.async_receive();
          if (ec) {
            end = ec;
            break;
          }
          for (const auto& m : batch) lines.emplace_back(m.bytes);
        }
      },
      asio::detached);
  io.run();
  EXPECT_EQ(children, std::optional<std::size_t>(1));
  EXPECT_EQ(lines, (std::vector<std::string>{"hi", "more"}));
  EXPECT_EQ(end, asio::error::eof);
}

TEST(SupervisorContract, ConventionsMoveOnlyCallbacksAreAccepted) {
  asio::io_context io;
  supervisor sup(io);
  std::vector<std::string> lines;
  std::size_t events = 0;
  error_code result = asio::error::would_block;
  sup.async_run(
      {sh("echo", "echo hi")},
      [owned = std::make_unique<std::vector<std::string>*>(&lines)](const message& m) {
        (*owned)->emplace_back(m.bytes);
      },
      [owned = std::make_unique<std::size_t*>(&events)](const child_event&) { ++**owned; },
      [&](error_code ec, const run_summary&) { result = ec; });
  io.run();
  EXPECT_FALSE(result) << result.message();
  EXPECT_EQ(lines, std::vector<std::string>{"hi"});
  EXPECT_EQ(events, 2u);  // started, exited
}

// Documented (it always held): given a strand, the callbacks of every supervisor on it, and
// the caller's own handlers there, never run at once, even on an io_context run by threads.
TEST(SupervisorContract, ConventionsAStrandGivenAtConstructionSerialisesTheCallbacks) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  const auto enter = [&] {
    if (inside.fetch_add(1) != 0) ++overlaps;
    std::this_thread::sleep_for(1ms);
    inside.fetch_sub(1);
  };
  supervisor a(strand);
  supervisor b(strand);
  for (auto* sup : {&a, &b})
    sup->async_run(
        {sh("seq", "seq 1 200")}, [&](const message&) { enter(); },
        [](error_code, const run_summary&) {});
  for (int i = 0; i < 100; ++i) asio::post(strand, enter);
  std::thread other([&] { io.run(); });
  io.run();
  other.join();
  EXPECT_EQ(overlaps, 0);
}

}  // namespace
}  // namespace pipemux
