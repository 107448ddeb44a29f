#include "readiness/probe_attempt.hpp"
#include "readiness/probe_target.hpp"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <csignal>
#include <system_error>

#include "pipemux/exit_status.hpp"
#include "process/child_process.hpp"
#include "process/spawn.hpp"
#include "process/unique_fd.hpp"

namespace pipemux::detail {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string within_text(std::chrono::milliseconds bound) {
  return fmt::format("{:.3f} s", std::chrono::duration<double>(bound).count());
}

// The deadline and the once-only end shared by every kind of attempt.
class bounded_attempt : public probe_attempt {
 public:
  bounded_attempt(const asio::any_io_executor& executor, done_handler done)
      : timer_(executor), done_(std::move(done)) {}

 public:
  virtual void timed_out(std::chrono::milliseconds bound) {
    finish(false, "no answer within " + within_text(bound));
  }

 protected:
  template <class Self>
  void arm(const std::shared_ptr<Self>& self, std::chrono::milliseconds bound) {
    timer_.expires_after(bound);
    timer_.async_wait([self, bound](boost::system::error_code ec) {
      if (!ec) self->timed_out(bound);
    });
  }
  // The end of the attempt: the handler is called once, never after cancel().
  void finish(bool ok, std::string what) {
    if (over_) return;
    over_ = true;
    timer_.cancel();
    release();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(ok, std::move(what));
  }
  void end_quietly() {
    over_ = true;
    done_ = nullptr;
    timer_.cancel();
    release();
  }
  bool over() const noexcept { return over_; }
  virtual void release() = 0;  // closes what the attempt holds

 private:
  asio::steady_timer timer_;
  done_handler done_;
  bool over_ = false;
};

// tcp: a connection is accepted. http: a GET of the path is answered 2xx.
class network_attempt final : public bounded_attempt,
                              public std::enable_shared_from_this<network_attempt> {
 public:
  network_attempt(const asio::any_io_executor& executor, done_handler done)
      : bounded_attempt(executor, std::move(done)), resolver_(executor), socket_(executor) {}

  void begin(std::string host, const std::string& port, std::string http_request,
             std::chrono::milliseconds bound) {
    host_ = std::move(host);
    request_ = std::move(http_request);
    arm(shared_from_this(), bound);
    resolver_.async_resolve(host_, port,
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        const tcp::resolver::results_type& r) {
                              if (self->over()) return;
                              if (ec)
                                return self->finish(
                                    false, "cannot resolve " + self->host_ + ": " + ec.message());
                              self->connect(r);
                            });
  }
  void cancel() override { end_quietly(); }

 private:
  void connect(const tcp::resolver::results_type& endpoints) {
    asio::async_connect(
        socket_, endpoints,
        [self = shared_from_this()](boost::system::error_code ec, const tcp::endpoint&) {
          if (self->over()) return;
          if (ec) return self->finish(false, ec.message());
          if (self->request_.empty()) return self->finish(true, "accepted");
          self->ask();
        });
  }
  void ask() {
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (self->over()) return;
                        if (ec) return self->finish(false, "request not sent: " + ec.message());
                        self->read_status();
                      });
  }
  void read_status() {
    asio::async_read_until(
        socket_, asio::dynamic_buffer(answer_, 8192), '\n',  // a bare LF ends it too
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (self->over()) return;
          if (ec) return self->finish(false, "no status line: " + ec.message());
          self->judge(std::string_view(self->answer_).substr(0, n));
        });
  }
  // "HTTP/1.1 200 OK\r\n"
  void judge(std::string_view status_line) {
    while (!status_line.empty() && (status_line.back() == '\n' || status_line.back() == '\r'))
      status_line.remove_suffix(1);
    if (status_line.size() < 12 - 2 || status_line.substr(0, 5) != "HTTP/" ||
        status_line.find(' ') == std::string_view::npos)
      return finish(false, "not an HTTP answer");
    const auto code = status_line.substr(status_line.find(' ') + 1, 3);
    if (code.size() == 3 && code[0] == '2') return finish(true, "answered " + std::string(code));
    finish(false, "answered " + std::string(code));
  }
  void release() override {
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  std::string host_;
  std::string request_;  // empty: tcp
  std::string answer_;
};

// exec: /bin/sh -c TARGET exits 0. Its own process group, so that a timeout kills what it
// started too; its output goes to /dev/null.
class exec_attempt final : public bounded_attempt,
                           public std::enable_shared_from_this<exec_attempt> {
 public:
  exec_attempt(const asio::any_io_executor& executor, done_handler done)
      : bounded_attempt(executor, std::move(done)), executor_(executor) {}

  void begin(const std::string& command, const probe_command_context& context,
             std::chrono::milliseconds bound) {
    arm(shared_from_this(), bound);
    const unique_fd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    launch_request request;
    request.executable = "/bin/sh";
    request.argv = {"sh", "-c", command};
    request.environment = context.environment;
    request.working_directory = context.working_directory;
    request.stdout_fd = null.get();
    request.stderr_fd = null.get();
    request.die_with_parent = context.die_with_parent;
    std::error_code ec;
    process_ = child_process::launch(executor_, request, ec);
    if (!process_) {
      asio::post(executor_, [self = shared_from_this(), why = ec.message()] {
        self->finish(false, "cannot run /bin/sh: " + why);
      });
      return;
    }
    const int pid = process_->pid();
    if (context.started) context.started(pid);
    process_->async_wait([self = shared_from_this(), pid, reaped = context.reaped](
                             std::error_code wait_error, int status) {
      if (reaped) reaped(pid);
      if (self->over()) return;
      if (wait_error) return self->finish(false, "cannot wait for it: " + wait_error.message());
      const auto end = exit_status::from_wait_status(status);
      if (end.success()) return self->finish(true, "exited 0");
      self->finish(false, describe(end));
    });
  }
  void cancel() override { end_quietly(); }
  void timed_out(std::chrono::milliseconds bound) override {
    finish(false, "still running after " + within_text(bound) + ": killed");
  }

 private:
  void release() override {
    if (process_) process_->signal(SIGKILL, true);  // reaped by its pending wait
  }

  asio::any_io_executor executor_;
  std::unique_ptr<child_process> process_;
};

}  // namespace

std::shared_ptr<probe_attempt> probe_attempt::start(const asio::any_io_executor& executor,
                                                    const probe& spec,
                                                    const probe_command_context& context,
                                                    std::chrono::milliseconds bound,
                                                    done_handler done) {
  if (spec.kind == probe_kind::exec) {
    auto attempt = std::make_shared<exec_attempt>(executor, std::move(done));
    attempt->begin(spec.target, context, bound);
    return attempt;
  }
  std::string host, port, path, why;
  std::string request;
  if (spec.kind == probe_kind::http) {
    split_http_url(spec.target, host, port, path, why);
    request = fmt::format(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: pipemux\r\nConnection: close\r\n\r\n", path,
        host.find(':') != std::string::npos ? "[" + host + "]" : host);
  } else {
    split_host_port(spec.target, host, port);
  }
  auto attempt = std::make_shared<network_attempt>(executor, std::move(done));
  attempt->begin(std::move(host), port, std::move(request), bound);
  return attempt;
}

}  // namespace pipemux::detail
