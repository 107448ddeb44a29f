// Micro benchmarks: the per-line costs on pipemux's hot path, in isolation.
#include <benchmark/benchmark.h>
#include <fcntl.h>

#include <memory>
#include <string>

#include "pipemux/escape.hpp"
#include "pipemux/fd_sink.hpp"
#include "pipemux/framer.hpp"
#include "pipemux/log_format.hpp"
#include "pipemux/spdlog_adapter.hpp"

namespace {

// A 64 KiB read full of lines of the given length, framed.
void framer_per_line(benchmark::State& state) {
  const auto line_length = static_cast<std::size_t>(state.range(0));
  std::string read;
  while (read.size() + line_length + 1 <= 65536) read += std::string(line_length, 'x') + '\n';
  const std::size_t lines = read.size() / (line_length + 1);
  pipemux::line_framer framer(65536);
  std::size_t delivered = 0;
  for (auto _ : state) {
    framer.feed(read, [&](std::string_view piece, pipemux::piece_kind) {
      benchmark::DoNotOptimize(piece.data());
      ++delivered;
    });
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lines));
  state.counters["ns/line"] =
      benchmark::Counter(static_cast<double>(state.iterations() * lines),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(framer_per_line)->Arg(6)->Arg(64)->Arg(512)->Arg(4096);

void escape_check_per_line(benchmark::State& state) {
  const std::string line(static_cast<std::size_t>(state.range(0)), 'a');
  for (auto _ : state) benchmark::DoNotOptimize(pipemux::needs_escape(line));
  state.counters["ns/line"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(escape_check_per_line)->Arg(6)->Arg(64)->Arg(512);

// The whole logging path of one line: adapter, logger, formatter and pipemux's fd_sink,
// writing to /dev/null in 64 KiB batches, as the CLI does.
void log_line(benchmark::State& state, bool fast) {
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto logger = std::make_shared<spdlog::logger>(
      "bench", std::make_shared<pipemux::fd_sink_st>(null_fd, true));
  logger->set_formatter(pipemux::make_log_formatter(pipemux::default_log_pattern, fast));
  pipemux::spdlog_adapter log(logger);
  const auto child =
      std::make_shared<const pipemux::child_info>(pipemux::child_info{"spam", 3, 0, 12345});
  for (auto _ : state)
    log(pipemux::message{child, pipemux::stream_kind::out, pipemux::log_clock::now(), "Spam 0",
                         pipemux::piece_kind::line});
  state.counters["ns/line"] =
      benchmark::Counter(static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK_CAPTURE(log_line, default_pattern_fast_path, true);
BENCHMARK_CAPTURE(log_line, default_pattern_general_formatter, false);

}  // namespace

BENCHMARK_MAIN();
