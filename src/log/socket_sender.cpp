#include "pipemux/socket_sender.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "log/tcp_acknowledgement.hpp"
#include "log/tls_session.hpp"

namespace pipemux {

namespace asio = boost::asio;
using transport = socket_address::transport;
using error_code = boost::system::error_code;

namespace {

constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{5000};
// close(): how often the kernel is asked whether the server's TCP acknowledged everything.
constexpr std::chrono::milliseconds acknowledgement_poll{10};
constexpr std::size_t max_batch = 256;  // TCP: messages gathered into one write
constexpr std::chrono::milliseconds close_notify_grace{100};  // tls://: for the alert to go
// When the kernel does not say how much a peer may hold unread: what a Linux server announces
// by default (net.ipv4.tcp_rmem's maximum of 6 MiB gives a window scale of 7).
constexpr std::size_t assumed_peer_window = std::size_t{65535} << 7;

std::string with_port(const socket_address& address, const char* scheme) {
  const bool v6 = address.host.find(':') != std::string::npos;
  return std::string(scheme) + (v6 ? "[" + address.host + "]" : address.host) + ":" +
         std::to_string(address.port);
}

}  // namespace

std::string socket_address_name(const socket_address& address) {
  switch (address.via) {
    case transport::tcp:
      return with_port(address, address.tls ? "tls://" : "tcp://");
    case transport::udp:
      return with_port(address, "udp://");
    case transport::relp:
      return with_port(address, "relp://");
    case transport::unix_datagram:
      break;
  }
  return address.host;
}

struct socket_sender::state : std::enable_shared_from_this<state> {
  state(const asio::any_io_executor& loop, socket_address where, limits marks,
        const syslog_tls_files& files)
      : tls(where.tls ? std::make_unique<detail::tls_session>(files, where.host) : nullptr),
        address(std::move(where)),
        bounds(marks),
        resolver(loop),
        tcp(loop),
        udp(loop),
        local(loop),
        retry(loop),
        deadline(loop),
        connect_deadline(loop),
        acknowledgement_wait(loop) {}

  // tls://: the session of each connection, over `tcp`; the batches written in the current one,
  // each as where its records end in the bytes TLS wrote, and how many messages it holds.
  std::unique_ptr<detail::tls_session> tls;
  std::shared_ptr<detail::tls_session::stream> secure;
  std::deque<std::pair<std::uint64_t, std::size_t>> tls_batches;
  socket_address address;
  limits bounds;
  asio::ip::tcp::resolver resolver;
  asio::ip::tcp::socket tcp;
  asio::ip::udp::socket udp;
  asio::local::datagram_protocol::socket local;
  asio::steady_timer retry, deadline, connect_deadline, acknowledgement_wait;

  // The messages not known to be delivered, in order: the first `unacknowledged` were written
  // to the TCP connection and wait for its peer's acknowledgement; the next `in_flight` are
  // being written (or sent); the rest wait.
  std::deque<std::string> queue;
  std::size_t unacknowledged = 0, in_flight = 0;
  std::size_t held = 0;     // bytes in `queue`
  std::size_t waiting = 0;  // bytes of the messages not written yet (those in flight included)

  // The TCP connection: bytes written to it, and of those the bytes of the messages taken off
  // the queue as acknowledged; the most its peer may hold unread (tcp_largest_peer_window);
  // what it acknowledged last, as much as that. A new connection starts them again.
  std::uint64_t written_bytes = 0, released_bytes = 0;
  std::size_t peer_window = assumed_peer_window;
  acknowledged_tail acknowledged;
  std::optional<error_code> lost_while_writing;  // waits for the write under way to end
  std::array<char, 512> discard{};               // what a server sends (nothing, normally)
  unsigned connection = 0;  // handlers of an earlier connection see it changed, and do nothing

  std::size_t dropped = 0, possibly_lost = 0;
  std::size_t settled = 0;  // messages taken off the queue's front
  std::size_t accepted = 0, resent = 0, connections = 0;
  bool connected = false, connecting = false, closing = false, stopped = false;
  bool was_backlogged = false;
  bool shutting_down = false;         // tls://: close_notify sent at the end, the answer awaited
  std::size_t acknowledged_here = 0;  // messages acknowledged on this connection
  std::chrono::milliseconds backoff = first_backoff;
  std::function<void()> on_backlog;
  std::function<void(const std::string&)> on_dropping;
  std::function<void(std::size_t, const std::string&)> on_connection_lost;
  std::function<void()> on_closed;
  std::string last_error;

  std::string name() const { return socket_address_name(address); }

  // A server being connected to counts as there: a first connection must not lose the burst a
  // run starts with for want of a pause (an attempt lasts connect_timeout at most).
  bool reachable() const { return connected || connecting; }
  bool backlogged() const { return reachable() && was_backlogged; }

  // Tells the consumer when the backlog crosses its marks (only while the server is there: one
  // that is away fills the buffer, it does not stall the children).
  void check_backlog() {
    const bool over =
        reachable() && (was_backlogged ? waiting > bounds.low_water : waiting > bounds.high_water);
    if (over != was_backlogged) {
      was_backlogged = over;
      if (on_backlog) on_backlog();
    }
  }

  void drop(std::size_t count, const std::string& why) {
    if (count == 0) return;
    if (dropped == 0 && on_dropping) on_dropping(why);
    dropped += count;
  }

  std::string not_connected() const {
    return "not connected (" + (last_error.empty() ? std::string("no answer") : last_error) + ")";
  }

  void push(std::string message) {
    ++accepted;
    if (stopped) return drop(1, "the log was given up");
    if (!reachable() && held + message.size() > bounds.max_queued) return drop(1, not_connected());
    held += message.size();
    waiting += message.size();
    queue.push_back(std::move(message));
    check_backlog();
    pump();
  }

  // Connects if need be, else writes what waits (one write at a time).
  void pump() {
    if (stopped || in_flight > 0 || connecting || queue.size() == unacknowledged) return;
    if (!connected) {
      if (retry.expiry() <= asio::steady_timer::clock_type::now()) connect();
      return;
    }
    auto self = shared_from_this();
    const unsigned current = connection;
    if (address.via == transport::tcp) {
      std::vector<asio::const_buffer> buffers;
      for (std::size_t i = unacknowledged; i < queue.size() && buffers.size() < max_batch; ++i)
        buffers.emplace_back(asio::buffer(queue[i]));
      in_flight = buffers.size();
      auto done = [self, current, secure = secure](const error_code& ec, std::size_t n) {
        self->written(current, ec, n);
      };
      if (secure)
        asio::async_write(*secure, buffers, std::move(done));
      else
        asio::async_write(tcp, buffers, std::move(done));
      return;
    }
    in_flight = 1;
    const auto done = [self, current](const error_code& ec, std::size_t) {
      self->datagram_sent(current, ec);
    };
    if (address.via == transport::udp)
      udp.async_send(asio::buffer(queue.front()), done);
    else
      local.async_send(asio::buffer(queue.front()), done);
  }

  void take_front() {
    ++settled;
    held -= queue.front().size();
    queue.pop_front();
  }

  // A datagram went (or not). The socket buffers it or refuses it: nothing is in between.
  void datagram_sent(unsigned sent_on, const error_code& ec) {
    if (stopped || sent_on != connection) return;
    in_flight = 0;
    const std::size_t size = queue.front().size();
    if (ec == asio::error::message_size) {  // a datagram the socket will never take
      waiting -= size;
      take_front();
      drop(1, "a message of " + std::to_string(size) + " bytes is too long for the socket");
    } else if (ec && address.via == transport::unix_datagram) {
      // The server went away (journald restarting: connection refused): the message waits
      // for the next connection.
      return disconnect(ec);
    } else {
      // UDP: an error (a port unreachable, reported by a later send) loses that one.
      waiting -= size;
      take_front();
      if (ec) {
        last_error = ec.message();
        drop(1, "udp: " + last_error);
      } else {
        backoff = first_backoff;
      }
    }
    check_backlog();
    if (!finished_closing()) pump();
  }

  void written(unsigned written_on, const error_code& ec, std::size_t bytes) {
    if (stopped || written_on != connection) return;
    const std::size_t count = in_flight;
    in_flight = 0;
    written_bytes = secure ? tls->bytes_out() : written_bytes + bytes;
    const error_code cause = lost_while_writing.value_or(ec);
    if (cause) return connection_lost(cause);
    if (secure) tls_batches.emplace_back(written_bytes, count);
    unacknowledged += count;
    waiting -= bytes;
    release_acknowledged();
    check_backlog();
    if (!finished_closing()) pump();
  }

  // What a server may have acknowledged and not handled, in bytes: a window unread in its kernel
  // (Linux gives no connection a receive buffer its window cannot cover), and one more its
  // process may hold (it cannot read more than its kernel held).
  std::size_t possibly_unhandled() const { return 2 * peer_window; }

  // Takes off the queue the messages the server's TCP acknowledged.
  void release_acknowledged() {
    const auto unconfirmed = tcp_unacknowledged_bytes(tcp.native_handle());
    if (!unconfirmed) return;
    const std::uint64_t confirmed =
        written_bytes - std::min<std::uint64_t>(*unconfirmed, written_bytes);
    if (secure) return release_acknowledged_batches(confirmed);
    while (unacknowledged > 0 && released_bytes + queue.front().size() <= confirmed) {
      released_bytes += queue.front().size();
      acknowledged.add(queue.front().size(), possibly_unhandled());
      take_front();
      --unacknowledged;
      taken_on_this_connection();
    }
  }

  // A connection is taken to work once its server acknowledged a message: only then does the
  // backoff start again from 0.1 s (a server that closes each connection at once, as one that
  // wants a client certificate does after TLS 1.3's handshake, is not tried ten times a second).
  void taken_on_this_connection() {
    if (acknowledged_here++ == 0) backoff = first_backoff;
  }

  // TLS: a batch's records acknowledged, its messages are (the bytes on the wire are not theirs).
  void release_acknowledged_batches(std::uint64_t confirmed) {
    while (!tls_batches.empty() && tls_batches.front().first <= confirmed) {
      for (std::size_t i = 0; i < tls_batches.front().second && unacknowledged > 0; ++i) {
        acknowledged.add(queue.front().size(), possibly_unhandled());
        take_front();
        --unacknowledged;
        taken_on_this_connection();
      }
      tls_batches.pop_front();
    }
  }

  // A read always pending on the connection: the server sends nothing, so its end (EOF, a
  // reset) is how a closed connection is noticed at once, even while nothing is written.
  void watch_for_close(unsigned watched) {
    auto self = shared_from_this();
    auto heard = [self, watched, secure = secure](const error_code& ec, std::size_t) {
      // Ending the TLS session: the server's answer (or its close) ends the read.
      if (self->stopped || watched != self->connection || ec == asio::error::operation_aborted ||
          self->shutting_down)
        return;
      if (!ec) return self->watch_for_close(watched);  // a server that talks: not listened to
      self->connection_lost(ec);
    };
    if (secure)
      secure->async_read_some(asio::buffer(discard), std::move(heard));
    else
      tcp.async_read_some(asio::buffer(discard), std::move(heard));
  }

  // The TCP connection ended: what its server did not acknowledge is written again on the next
  // one; of what it acknowledged, the last of it may not have been handled.
  void connection_lost(const error_code& cause) {
    if (!connected) return;
    if (in_flight > 0) {  // the write under way says how much it wrote: first hear it out
      lost_while_writing = cause;
      error_code ignored;
      tcp.cancel(ignored);
      return;
    }
    release_acknowledged();  // the socket is still open: the kernel still knows
    const std::size_t maybe = acknowledged.count_within(possibly_unhandled());
    possibly_lost += maybe;
    for (std::size_t i = 0; i < unacknowledged; ++i) waiting += queue[i].size();
    resent += unacknowledged;  // on the next connection
    unacknowledged = 0;
    tls_batches.clear();
    // TLS 1.3: a server that refuses the client (no certificate, or not one it takes) says so
    // after the handshake, by ending the session.
    const std::string why =
        secure && acknowledged_here == 0
            ? "the server ended the TLS session before it took anything: does it want a client "
              "certificate (--syslog-tls-cert, --syslog-tls-key)? (" +
                  cause.message() + ")"
            : cause.message();
    if (on_connection_lost) on_connection_lost(maybe, why);
    disconnect(cause, why);
  }

  void disconnect(const error_code& ec, const std::string& why = {}) {
    last_error = why.empty() ? ec.message() : why;
    error_code ignored;
    tcp.close(ignored);
    udp.close(ignored);
    local.close(ignored);
    ++connection;
    connected = false;
    acknowledged_here = 0;
    secure.reset();  // its last operations hold it until they come back
    tls_batches.clear();
    written_bytes = released_bytes = 0;
    acknowledged.clear();
    lost_while_writing.reset();
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
    const unsigned attempt = connection;
    if (address.via == transport::unix_datagram) {
      error_code ec;
      local.open(asio::local::datagram_protocol(), ec);
      if (!ec) local.connect(asio::local::datagram_protocol::endpoint(address.host), ec);
      return connected_or_not(attempt, ec);
    }
    // A name is looked up on a thread of Asio's own: a slow DNS must not stall the loop.
    connecting = true;
    check_backlog();
    connect_deadline.expires_after(bounds.connect_timeout);
    connect_deadline.async_wait([self, attempt](const error_code& ec) {
      if (ec || self->stopped || attempt != self->connection || !self->connecting) return;
      self->resolver.cancel();
      error_code ignored;
      self->tcp.close(ignored);  // its handler then says operation_aborted: handled here
      self->connected_or_not(attempt, asio::error::timed_out,
                             self->secure
                                 ? "TLS: the server did not finish the handshake within " +
                                       std::to_string(self->bounds.connect_timeout.count()) + " ms"
                                 : std::string());
    });
    const std::string port = std::to_string(address.port);
    if (address.via == transport::udp) {
      resolver.async_resolve(
          address.host, port,
          [self, attempt](const error_code& ec,
                          const asio::ip::tcp::resolver::results_type& found) {
            if (self->stopped || attempt != self->connection || !self->connecting) return;
            error_code failed = ec;
            if (!failed) {
              failed = asio::error::host_not_found;
              for (const auto& entry : found) {
                error_code ignored;
                self->udp.close(ignored);
                const asio::ip::udp::endpoint to(entry.endpoint().address(),
                                                 entry.endpoint().port());
                self->udp.open(to.protocol(), failed);
                if (!failed) self->udp.connect(to, failed);
                if (!failed) break;
              }
            }
            self->connected_or_not(attempt, failed);
          });
      return;
    }
    resolver.async_resolve(
        address.host, port,
        [self, attempt](const error_code& ec, const asio::ip::tcp::resolver::results_type& found) {
          if (self->stopped || attempt != self->connection || !self->connecting) return;
          if (ec) return self->connected_or_not(attempt, ec);
          asio::async_connect(
              self->tcp, found, [self, attempt](const error_code& connect_error, const auto&) {
                if (self->stopped || attempt != self->connection || !self->connecting) return;
                if (connect_error || !self->tls)
                  return self->connected_or_not(attempt, connect_error);
                self->handshake(attempt);
              });
        });
  }

  // tls://: the session, within the same connect_timeout as the connection.
  void handshake(unsigned attempt) {
    secure = tls->start(tcp);
    secure->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this(), attempt, secure = secure](const error_code& ec) {
          if (self->stopped || attempt != self->connection || !self->connecting) return;
          self->connected_or_not(attempt, ec, ec ? self->tls->why(ec) : std::string());
        });
  }

  void connected_or_not(unsigned attempt, const error_code& ec, const std::string& why = {}) {
    if (attempt != connection) return;
    connecting = false;
    connect_deadline.cancel();
    if (ec) return disconnect(ec, why);
    connected = true;
    ++connections;
    if (address.via == transport::tcp) {
      peer_window = tcp_largest_peer_window(tcp.native_handle()).value_or(assumed_peer_window);
      watch_for_close(connection);
    }
    check_backlog();
    pump();
  }

  // Closing, and nothing left to send: done once the server's TCP acknowledged it all (asked
  // of the kernel every few milliseconds: it tells of no acknowledgement as an event).
  bool finished_closing() {
    if (!closing || stopped) return false;
    if (queue.empty()) {
      end_session_then_finish();
      return true;
    }
    if (address.via != transport::tcp || !connected || in_flight > 0 ||
        queue.size() != unacknowledged)
      return false;
    auto self = shared_from_this();
    acknowledgement_wait.expires_after(acknowledgement_poll);
    acknowledgement_wait.async_wait([self, current = connection](const error_code& ec) {
      if (ec || self->stopped || current != self->connection) return;
      self->release_acknowledged();
      self->finished_closing();
    });
    return true;
  }

  // tls://: a TLS session ends with its close_notify (a server takes a bare close for an
  // attack: rsyslog logs an error for each). Its answer is not needed (RFC 8446 6.1) and
  // rsyslog sends none: a moment for the alert to go, then the connection is closed.
  void end_session_then_finish() {
    if (!secure || !connected || in_flight > 0) return finish();
    if (shutting_down) return;
    shutting_down = true;
    secure->async_shutdown([self = shared_from_this(), secure = secure](const error_code&) {
      if (!self->stopped) self->finish();
    });
    deadline.expires_after(close_notify_grace);
    deadline.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec && !self->stopped) self->finish();
    });
  }

  void close(std::function<void()> done) {
    on_closed = std::move(done);
    closing = true;
    if (queue.empty()) return end_session_then_finish();
    auto self = shared_from_this();
    deadline.expires_after(bounds.close_timeout);
    deadline.async_wait([self](const error_code& ec) {
      if (ec || self->stopped) return;
      self->drop(self->queue.size(),
                 self->connected ? "the server did not take them in time" : self->not_connected());
      self->finish();
    });
    if (!finished_closing()) pump();
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
    held = waiting = unacknowledged = in_flight = 0;
    error_code ignored;
    resolver.cancel();
    tcp.close(ignored);
    udp.close(ignored);
    local.close(ignored);
    retry.cancel();
    deadline.cancel();
    connect_deadline.cancel();
    acknowledgement_wait.cancel();
    return left;
  }
};

socket_sender::socket_sender(const asio::any_io_executor& loop, socket_address address,
                             limits marks, const syslog_tls_files& tls)
    : state_(std::make_shared<state>(loop, std::move(address), marks, tls)) {}

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

void socket_sender::on_connection_lost(
    std::function<void(std::size_t possibly_lost, const std::string& why)> handler) {
  state_->on_connection_lost = std::move(handler);
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

// Asked of the kernel now (TCP): a spool asks when it has nothing new to write, and the
// acknowledgements that came since the last write must count.
std::size_t socket_sender::settled() const {
  state& s = *state_;
  if (s.connected && !s.stopped && s.address.via == transport::tcp) s.release_acknowledged();
  return s.settled;
}

delivery_counts socket_sender::counts() const {
  const state& s = *state_;
  return {.accepted = s.accepted,
          .settled = settled(),
          .resent = s.resent,
          .dropped = s.dropped,
          .possibly_lost = s.possibly_lost,
          .connections = s.connections};
}

std::size_t socket_sender::possibly_lost() const {
  return state_->possibly_lost;
}

std::string socket_sender::name() const {
  return state_->name();
}

}  // namespace pipemux
