// An Asio service that runs pipemux next to a TCP server on one io_context: every client that
// connects to 127.0.0.1:PORT gets the recent history, then every log line of the children as
// it arrives.
//
//   pipemux_log_server PORT -- COMMAND [ARG...]       (PORT 0: any free port)
//
// It prints "listening on 127.0.0.1:<port>" once ready, and exits when the children are done
// and every client has been sent everything.
//
// Each client is greeted with one line, "pipemux_log_server: subscribed; the last N lines
// follow, then each new one", sent once the server has registered it: every line logged from
// then on reaches it. A returned connect() only means the kernel accepted the connection, not
// that the server has seen it yet: a client that must not miss a line (nor depend on the
// history's 1000 lines) waits for the greeting before it sets the children to work.
//
// Backpressure, not dropping: the children's output is taken in batches
// (supervisor::async_run_batched), and while any client has more than 256 KiB still to be
// written, the last batch is kept, so the children's pipes are not read and the children
// block in write. So the server's memory stays bounded however slow a client is, and no
// client is dropped for being behind; every client gets every line. (A service that would
// rather drop a slow client than slow the children down closes it instead of waiting.)
#include <spdlog/sinks/base_sink.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <list>
#include <string>
#include <vector>

#include <pipemux/pipemux.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;

// One connected client and the lines still to be written to it.
class client_session : public std::enable_shared_from_this<client_session> {
 public:
  client_session(tcp::socket socket, std::function<void()> on_progress)
      : socket_(std::move(socket)), on_progress_(std::move(on_progress)) {}

  void send(const std::string& line) {
    if (closed_) return;
    queued_bytes_ += line.size();
    queue_.push_back(line);
    if (queue_.size() == 1) write_next();
  }
  std::size_t backlog() const { return queued_bytes_; }
  // After the last line: close once everything queued has been written.
  void finish() {
    finishing_ = true;
    if (queue_.empty()) close();
  }
  bool closed() const { return closed_; }

 private:
  void write_next() {
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->queued_bytes_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                        if (!self->queue_.empty())
                          self->write_next();
                        else if (self->finishing_)
                          self->close();
                        self->on_progress_();
                      });
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (!finishing_) on_progress_();
  }

  tcp::socket socket_;
  std::function<void()> on_progress_;  // a write completed, or the client left
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool finishing_ = false;
  bool closed_ = false;
};

// A spdlog sink that hands every formatted line to each client and keeps a short history.
// It runs on the io_context's one thread, so it needs no mutex.
class client_fanout_sink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  // A new client: the greeting (from now on it gets every line), then the recent history.
  void add(const std::shared_ptr<client_session>& client) {
    client->send("pipemux_log_server: subscribed; the last " + std::to_string(history_.size()) +
                 " lines follow, then each new one\n");
    for (const auto& line : history_) client->send(line);
    clients_.push_back(client);
  }
  void finish_all() {
    for (auto& c : clients_) c->finish();
    finished_ = true;
  }
  bool finished() const { return finished_; }
  // The slowest client's lines still to be written.
  std::size_t largest_backlog() const {
    std::size_t largest = 0;
    for (const auto& c : clients_) largest = std::max(largest, c->backlog());
    return largest;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    history_.push_back(line);
    if (history_.size() > 1000) history_.pop_front();
    clients_.remove_if([](const auto& c) { return c->closed(); });
    for (auto& c : clients_) c->send(line);
  }
  void flush_() override {}

 private:
  std::deque<std::string> history_;
  std::list<std::shared_ptr<client_session>> clients_;
  bool finished_ = false;
};

// Output the clients have not taken yet: while it is kept, its children's pipes are not read.
class held_output {
 public:
  static constexpr std::size_t high_mark = std::size_t{256} * 1024;

  explicit held_output(const client_fanout_sink& sink) : sink_(sink) {}
  // After a batch was logged: kept if some client is too far behind.
  void keep_if_behind(pipemux::message_batch batch) {
    if (sink_.largest_backlog() > high_mark) held_.push_back(std::move(batch));
  }
  // A client made progress (or left): let the children go on once all are under the mark.
  void release_if_caught_up() {
    if (!held_.empty() && sink_.largest_backlog() <= high_mark) held_.clear();
  }

 private:
  const client_fanout_sink& sink_;
  std::vector<pipemux::message_batch> held_;
};

void accept_clients(tcp::acceptor& acceptor, client_fanout_sink& sink, held_output& held) {
  acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;
    auto client = std::make_shared<client_session>(std::move(socket),
                                                   [&held] { held.release_if_caught_up(); });
    sink.add(client);
    if (sink.finished()) client->finish();
    accept_clients(acceptor, sink, held);
  });
}

int run(int argc, char** argv) {
  asio::io_context io;

  tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(argv[1]))});
  auto sink = std::make_shared<client_fanout_sink>();
  auto logger = std::make_shared<spdlog::logger>("children", sink);
  logger->set_formatter(pipemux::make_log_formatter(pipemux::default_log_pattern));
  pipemux::spdlog_adapter log(logger);
  held_output held(*sink);
  accept_clients(acceptor, *sink, held);
  std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;

  pipemux::supervisor children(io.get_executor());
  asio::signal_set signals(io, SIGINT, SIGTERM);  // an application may; the library does not
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) children.stop();
  });

  pipemux::program_spec program;
  program.name = "child";
  program.argv.assign(argv + 3, argv + argc);
  int exit_code = 0;
  children.async_run_batched(
      {program},
      [&](pipemux::message_batch batch) {
        for (const auto& m : batch) log(m);
        held.keep_if_behind(std::move(batch));
      },
      [&](const pipemux::child_event& e) { log(e); },
      [&](pipemux::error_code ec, const pipemux::run_summary& summary) {
        log(summary);
        exit_code = ec ? 1 : 0;
        sink->finish_all();  // clients get the rest, then are closed
        acceptor.close();
        signals.cancel();
      });
  io.run();
  return exit_code;
}

int main(int argc, char** argv) {
  if (argc < 4 || std::string(argv[2]) != "--") {
    std::cerr << "usage: pipemux_log_server PORT -- COMMAND [ARG...]\n";
    return 2;
  }
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "pipemux_log_server: " << e.what() << "\n";
    return 1;
  }
}
