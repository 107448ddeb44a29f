// A service on one single-threaded io_context forwards one child's output to a peer that
// drains about 100 KB/s, while three siblings run at full speed (issue 11's measure of flow
// control). It runs the same service twice in one invocation, with a fast peer (the
// reference) and with the slow one, and prints the ratios:
//   - the siblings' time to finish, slow / fast: flow control holds only the slow child, so
//     this stays near 1 (target <= 1.10);
//   - the process's peak RSS (VmHWM, reset between runs), slow / fast: the slow child's output
//     waits in its pipe, not in memory (target < 2).
// It also checks that the peer got every line of the slow child, in order.
//
//   bench_slow_peer [SIBLING_LINES [SLOW_LINES]]      (default 3,000,000 and 20,000)
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pipemux/supervisor.hpp>

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

// The peer: reads the forwarded lines, at `bytes_per_second` (0: as fast as it can), and
// checks that they are 1, 2, 3, ...
struct peer_result {
  std::uint64_t lines = 0;
  bool in_order = true;
};

peer_result run_peer(int fd, std::size_t bytes_per_second) {
  peer_result result;
  std::string partial;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
    partial.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', start)) {
      if (partial.compare(start, nl - start, std::to_string(result.lines + 1)) != 0)
        result.in_order = false;
      ++result.lines;
      start = nl + 1;
    }
    partial.erase(0, start);
    if (bytes_per_second > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(1'000'000 * n / bytes_per_second));
  }
  ::close(fd);
  return result;
}

struct run_result {
  double siblings_seconds = 0;
  double total_seconds = 0;
  long peak_rss_kib = 0;
  peer_result peer;
};

run_result run_service(std::size_t peer_speed, const std::string& sibling_lines,
                       const std::string& slow_lines) {
  reset_peak_rss();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  const int small = 16384;  // the socket absorbs little: the peer's speed is what counts
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::optional<peer_result> peer;
  std::thread peer_thread([&] { peer = run_peer(fds[1], peer_speed); });

  asio::io_context io;
  asio::local::stream_protocol::socket to_peer(io, asio::local::stream_protocol(), fds[0]);
  pipemux::supervisor sup(io.get_executor());
  run_result result;
  const auto started = steady::now();
  std::size_t siblings_left = 3;
  std::uint64_t sibling_lines_seen = 0;
  sup.async_run_batched(
      {pipemux::program_spec{"slow", {"seq", "1", slow_lines}, 1, {}, {}},
       pipemux::program_spec{"sibling", {"seq", "1", sibling_lines}, 3, {}, {}}},
      [&](pipemux::message_batch batch) {
        if (batch[0].child->index != 0) {
          sibling_lines_seen += batch.size();
          return;  // taken at once
        }
        // Forwarded; the batch (so the child's pipe) is held until the peer took it.
        auto text = std::make_shared<std::string>();
        for (const auto& m : batch) (text->append(m.bytes)) += '\n';
        auto held = std::make_shared<pipemux::message_batch>(std::move(batch));
        asio::async_write(to_peer, asio::buffer(*text),
                          [text, held](boost::system::error_code, std::size_t) {});
      },
      [&](const pipemux::child_event& e) {
        if (e.kind == pipemux::child_event_kind::exited && e.child->index != 0 &&
            --siblings_left == 0)
          result.siblings_seconds = std::chrono::duration<double>(steady::now() - started).count();
      },
      [&](pipemux::error_code, const pipemux::run_summary&) {
        boost::system::error_code ignored;
        to_peer.shutdown(asio::socket_base::shutdown_send, ignored);  // after the last write
      });
  io.run();
  to_peer.close();
  peer_thread.join();
  result.total_seconds = std::chrono::duration<double>(steady::now() - started).count();
  result.peak_rss_kib = peak_rss_kib();
  result.peer = *peer;
  if (sibling_lines_seen != 3 * std::stoull(sibling_lines)) result.peer.in_order = false;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string sibling_lines = argc > 1 ? argv[1] : "3000000";
  const std::string slow_lines = argc > 2 ? argv[2] : "20000";
  // Alternated, three rounds, medians: the machine is shared and noisy.
  std::vector<run_result> fast_runs, slow_runs;
  for (int round = 0; round < 3; ++round) {
    slow_runs.push_back(run_service(100'000, sibling_lines, slow_lines));
    fast_runs.push_back(run_service(0, sibling_lines, slow_lines));
  }
  const auto median = [](std::vector<run_result> runs) {
    std::sort(runs.begin(), runs.end(), [](const run_result& a, const run_result& b) {
      return a.siblings_seconds < b.siblings_seconds;
    });
    run_result middle = runs[runs.size() / 2];
    for (const auto& r : runs) {  // completeness must hold in every run; RSS: the highest
      middle.peer.in_order = middle.peer.in_order && r.peer.in_order;
      middle.peer.lines = std::min(middle.peer.lines, r.peer.lines);
      middle.peak_rss_kib = std::max(middle.peak_rss_kib, r.peak_rss_kib);
    }
    return middle;
  };
  const auto fast = median(fast_runs);
  const auto slow = median(slow_runs);
  for (const auto& [name, r] : {std::pair{"fast peer", fast}, std::pair{"slow peer", slow}})
    std::printf(
        "%-10s siblings done in %.3f s, run %.3f s, peak RSS %ld KiB, peer got %llu lines%s\n",
        name, r.siblings_seconds, r.total_seconds, r.peak_rss_kib,
        static_cast<unsigned long long>(r.peer.lines),
        r.peer.in_order ? " in order" : " NOT ALL OR NOT IN ORDER");
  std::printf("siblings' time, slow/fast: %.2f (target <= 1.10)\n",
              slow.siblings_seconds / fast.siblings_seconds);
  std::printf("peak RSS, slow/fast: %.2f (target < 2)\n",
              static_cast<double>(slow.peak_rss_kib) / static_cast<double>(fast.peak_rss_kib));
  const bool complete = fast.peer.in_order && slow.peer.in_order &&
                        fast.peer.lines == std::stoull(slow_lines) &&
                        slow.peer.lines == std::stoull(slow_lines);
  return complete ? 0 : 1;
}
