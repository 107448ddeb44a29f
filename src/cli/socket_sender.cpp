#include "socket_sender.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <optional>
#include <vector>

namespace pipemux::cli {

namespace asio = boost::asio;
using transport = socket_address::transport;
using error_code = boost::system::error_code;

namespace {
constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{5000};
constexpr std::size_t max_batch = 256;  // TCP: messages gathered into one write
}  // namespace

struct socket_sender::state : std::enable_shared_from_this<state> {
  state(const asio::any_io_executor& loop, socket_address where, limits marks)
      : address(std::move(where)),
        bounds(marks),
        resolver(loop),
        tcp(loop),
        udp(loop),
        local(loop),
        retry(loop),
        deadline(loop) {}

  socket_address address;
  limits bounds;
  asio::ip::tcp::resolver resolver;
  asio::ip::tcp::socket tcp;
  asio::ip::udp::socket udp;
  asio::local::datagram_protocol::socket local;
  asio::steady_timer retry, deadline;

  std::deque<std::string> queue;  // the stream's next bytes over TCP; one datagram each otherwise
  std::size_t queued = 0;         // bytes in `queue`
  std::size_t in_flight = 0;      // messages at the queue's front being written
  std::size_t dropped = 0;
  bool connected = false, connecting = false, closing = false, stopped = false;
  bool was_backlogged = false;
  std::chrono::milliseconds backoff = first_backoff;
  std::function<void()> on_backlog;
  std::function<void(const std::string&)> on_dropping;
  std::function<void()> on_closed;
  std::string last_error;

  std::string name() const {
    switch (address.via) {
      case transport::tcp:
        return "tcp://" + address.host + ":" + std::to_string(address.port);
      case transport::udp:
        return "udp://" + address.host + ":" + std::to_string(address.port);
      case transport::unix_datagram:
        break;
    }
    return address.host;
  }

  bool backlogged() const { return connected && was_backlogged; }

  // Tells the consumer when the backlog crosses its marks (only while connected: a server
  // that is away fills the buffer, it does not stall the children).
  void check_backlog() {
    const bool over =
        connected && (was_backlogged ? queued > bounds.low_water : queued > bounds.high_water);
    if (over != was_backlogged) {
      was_backlogged = over;
      if (on_backlog) on_backlog();
    }
  }

  std::string not_connected() const {
    return "not connected (" + (last_error.empty() ? std::string("no answer") : last_error) + ")";
  }

  void drop(std::size_t count, const std::string& why) {
    if (count == 0) return;
    if (dropped == 0 && on_dropping) on_dropping(why);
    dropped += count;
  }

  void push(std::string message) {
    if (stopped) return drop(1, "the log was given up");
    if (queued + message.size() > bounds.max_queued) {
      drop(1, connected ? "the queue is full" : not_connected());
      return;
    }
    queued += message.size();
    queue.push_back(std::move(message));
    check_backlog();
    pump();
  }

  // Connects if need be, else writes the queue's front (once at a time).
  void pump() {
    if (stopped || queue.empty() || in_flight > 0 || connecting) return;
    if (!connected) {
      if (retry.expiry() <= asio::steady_timer::clock_type::now()) connect();
      return;
    }
    auto self = shared_from_this();
    if (address.via == transport::tcp) {
      std::vector<asio::const_buffer> buffers;
      for (std::size_t i = 0; i < queue.size() && i < max_batch; ++i)
        buffers.emplace_back(asio::buffer(queue[i]));
      in_flight = buffers.size();
      asio::async_write(tcp, buffers,
                        [self](const error_code& ec, std::size_t) { self->written(ec); });
    } else {
      in_flight = 1;
      const auto done = [self](const error_code& ec, std::size_t) { self->written(ec); };
      if (address.via == transport::udp)
        udp.async_send(asio::buffer(queue.front()), done);
      else
        local.async_send(asio::buffer(queue.front()), done);
    }
  }

  void written(const error_code& ec) {
    const std::size_t count = in_flight;
    in_flight = 0;
    if (stopped) return;
    if (ec == asio::error::operation_aborted) return;
    if (!ec || address.via == transport::udp) {
      // UDP: an error (a port unreachable, reported on a later send) loses only that one.
      if (ec) {
        last_error = ec.message();
        drop(count, "udp: " + last_error);
      }
      for (std::size_t i = 0; i < count; ++i) {
        queued -= queue.front().size();
        queue.pop_front();
      }
      backoff = first_backoff;
      check_backlog();
      if (queue.empty() && closing) return finish();
      return pump();
    }
    if (ec == asio::error::message_size) {  // a datagram the socket will never take
      const std::size_t size = queue.front().size();
      queued -= size;
      queue.pop_front();
      drop(1, "a message of " + std::to_string(size) + " bytes is too long for the socket");
      return pump();
    }
    // The connection is gone, or the local server (journald restarting: connection refused):
    // the batch stays queued, to be sent again once reconnected.
    disconnect(ec);
  }

  void disconnect(const error_code& ec) {
    last_error = ec.message();
    error_code ignored;
    tcp.close(ignored);
    udp.close(ignored);
    local.close(ignored);
    connected = false;
    check_backlog();
    schedule_retry();
  }

  void schedule_retry() {
    retry.expires_after(backoff);
    backoff = std::min(backoff * 2, max_backoff);
    auto self = shared_from_this();
    retry.async_wait([self](const error_code& ec) {
      if (!ec && !self->stopped) self->pump();
    });
  }

  void connect() {
    auto self = shared_from_this();
    error_code ec;
    switch (address.via) {
      case transport::unix_datagram:
        local.open(asio::local::datagram_protocol(), ec);
        if (!ec) local.connect(asio::local::datagram_protocol::endpoint(address.host), ec);
        return connected_or_not(ec);
      case transport::udp:
        // Looked up on a thread of Asio's own: a slow DNS must not stall the loop.
        connecting = true;
        resolver.async_resolve(address.host, std::to_string(address.port),
                               [self](const error_code& resolve_error,
                                      const asio::ip::tcp::resolver::results_type& found) {
                                 if (self->stopped) return;
                                 self->connecting = false;
                                 error_code failed = resolve_error;
                                 if (!failed) failed = asio::error::host_not_found;
                                 for (const auto& entry : found) {
                                   error_code ignored;
                                   self->udp.close(ignored);
                                   const asio::ip::udp::endpoint to(entry.endpoint().address(),
                                                                    entry.endpoint().port());
                                   self->udp.open(to.protocol(), failed);
                                   if (!failed) self->udp.connect(to, failed);
                                   if (!failed) break;
                                 }
                                 self->connected_or_not(failed);
                               });
        return;
      case transport::tcp:
        connecting = true;
        resolver.async_resolve(address.host, std::to_string(address.port),
                               [self](const error_code& resolve_error,
                                      const asio::ip::tcp::resolver::results_type& found) {
                                 if (self->stopped) return;
                                 if (resolve_error) {
                                   self->connecting = false;
                                   return self->connected_or_not(resolve_error);
                                 }
                                 asio::async_connect(
                                     self->tcp, found,
                                     [self](const error_code& connect_error, const auto&) {
                                       self->connecting = false;
                                       if (!self->stopped) self->connected_or_not(connect_error);
                                     });
                               });
        return;
    }
  }

  void connected_or_not(const error_code& ec) {
    if (ec) {
      disconnect(ec);
      return;
    }
    connected = true;
    check_backlog();
    pump();
  }

  void close(std::function<void()> done) {
    on_closed = std::move(done);
    closing = true;
    if (queue.empty()) return finish();
    auto self = shared_from_this();
    deadline.expires_after(bounds.close_timeout);
    deadline.async_wait([self](const error_code& ec) {
      if (ec || self->stopped) return;
      self->drop(self->queue.size(),
                 self->connected ? "the server did not take them in time" : self->not_connected());
      self->finish();
    });
    pump();
  }

  void finish() {
    stop();
    if (auto done = std::move(on_closed)) {
      on_closed = nullptr;
      done();
    }
  }

  std::size_t stop() {
    const std::size_t left = queue.size();
    stopped = true;
    queue.clear();
    queued = 0;
    error_code ignored;
    resolver.cancel();
    tcp.close(ignored);
    udp.close(ignored);
    local.close(ignored);
    retry.cancel();
    deadline.cancel();
    return left;
  }
};

socket_sender::socket_sender(const asio::any_io_executor& loop, socket_address address,
                             limits marks)
    : state_(std::make_shared<state>(loop, std::move(address), marks)) {}

socket_sender::~socket_sender() {
  try {  // cancelling timers and closing sockets does not fail; a destructor must not throw
    state_->stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do about it here
  }
}

void socket_sender::send(std::string message) {
  state_->push(std::move(message));
}

bool socket_sender::backlogged() const {
  return state_->backlogged();
}

void socket_sender::on_backlog(std::function<void()> handler) {
  state_->on_backlog = std::move(handler);
}

void socket_sender::on_dropping(std::function<void(const std::string&)> handler) {
  state_->on_dropping = std::move(handler);
}

void socket_sender::close(std::function<void()> done) {
  state_->close(std::move(done));
}

std::size_t socket_sender::abandon() {
  const bool stopped_before = state_->stopped;
  const std::size_t left = state_->stop();
  if (!stopped_before) state_->drop(left, "pipemux gave up on them");
  if (auto done = std::move(state_->on_closed)) {
    state_->on_closed = nullptr;
    done();
  }
  return left;
}

std::size_t socket_sender::dropped() const {
  return state_->dropped;
}

std::string socket_sender::name() const {
  return state_->name();
}

}  // namespace pipemux::cli
