#include "pipemux/spooling_sender.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "log/disk_spool.hpp"

namespace pipemux {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t read_size = std::size_t{64} << 10;  // read from the spool at once
constexpr std::size_t min_in_flight_messages = 256;       // RELP's window (128) and more
// What the transport settles is looked at each turn of the loop and, while something is in
// flight (or the disk was full), this often.
constexpr std::chrono::milliseconds poll_period{50};
constexpr std::chrono::milliseconds head_save_period{1000};
constexpr std::uint64_t given_up_slack = std::uint64_t{64} << 20;  // beyond max_bytes, at the end

}  // namespace

struct spooling_sender::state : std::enable_shared_from_this<state> {
  state(const asio::any_io_executor& loop, std::shared_ptr<message_sender> to,
        const std::string& path, limits marks)
      : executor(loop),
        transport(std::move(to)),
        spool(path),
        bounds(marks),
        poll(loop),
        deadline(loop) {}

  asio::any_io_executor executor;
  std::shared_ptr<message_sender> transport;
  detail::disk_spool spool;
  limits bounds;
  asio::steady_timer poll, deadline;

  std::deque<std::uint64_t> handed;  // where the record of each message in flight ends
  std::size_t settled_seen = 0;      // the transport's settled() taken so far
  std::size_t dropped = 0, accepted = 0;
  std::chrono::steady_clock::time_point head_saved = std::chrono::steady_clock::now();
  std::string write_problem;  // the last flush's, while it fails
  bool turn_posted = false, poll_armed = false, was_backlogged = false;
  bool closing = false, transport_closing = false, finished = false;
  bool transport_gone = false;  // abandoned: the spool still takes what comes, for the next run
  std::function<void()> on_backlog, on_closed;
  std::function<void(const std::string&)> on_dropping;

  void post_turn() {
    if (turn_posted) return;
    turn_posted = true;
    asio::post(executor, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->turn_posted = false;
        self->turn();
      }
    });
  }

  // Once a turn of the loop (or a poll): write what came, take what the transport settled,
  // hand it what it can take.
  void turn() {
    if (finished) return;
    if (const error_code ec = spool.flush())
      write_problem = ec.message();
    else
      write_problem.clear();
    if (transport_gone) return closing ? finish() : void();
    take_settled();
    feed();
    update_backlog();
    if (closing && !spool.unread() && spool.unwritten_messages() == 0) close_transport();
    arm_poll();
  }

  void take_settled() {
    const std::size_t now = transport->settled();
    std::size_t count = 0;
    std::uint64_t end = 0;
    while (settled_seen < now && !handed.empty()) {
      end = handed.front();
      handed.pop_front();
      ++settled_seen;
      ++count;
    }
    if (count > 0) {
      spool.settle(end, count);
      if (closing && !transport_closing) wait_for_progress();
    }
    if (std::chrono::steady_clock::now() - head_saved >= head_save_period) save_head();
  }

  void save_head() {
    spool.save_head();
    head_saved = std::chrono::steady_clock::now();
  }

  bool transport_takes_more() const {
    return !transport_closing && !transport_gone && !transport->backlogged() &&
           (spool.in_flight_bytes() < bounds.in_flight || handed.size() < min_in_flight_messages);
  }

  void feed() {
    std::vector<std::string> messages;
    std::vector<std::uint64_t> ends;
    while (spool.unread() && transport_takes_more()) {
      messages.clear();
      ends.clear();
      spool.read(messages, ends, read_size);
      if (messages.empty()) return;
      for (std::size_t i = 0; i < messages.size(); ++i) {
        handed.push_back(ends[i]);
        transport->send(std::move(messages[i]));
      }
    }
  }

  // Backlogged at max_bytes waiting to be sent until an eighth below; and while the disk refuses
  // what is in memory. What is in flight is not counted: a transport may settle its last
  // messages only once more come (RELP's window), and the children must not wait for that.
  void update_backlog() {
    const std::uint64_t low = bounds.max_bytes - bounds.max_bytes / 8;
    const std::uint64_t waiting = spool.waiting_bytes();
    const bool over = (was_backlogged ? waiting > low : waiting >= bounds.max_bytes) ||
                      spool.unwritten_messages() > 0;
    if (over == was_backlogged) return;
    was_backlogged = over;
    if (on_backlog) on_backlog();
  }

  void arm_poll() {
    if (poll_armed || finished) return;
    if (spool.in_flight_bytes() == 0 && spool.unwritten_messages() == 0 && !spool.unread()) return;
    poll_armed = true;
    poll.expires_after(poll_period);
    poll.async_wait([weak = weak_from_this()](const error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->poll_armed = false;
      self->turn();
    });
  }

  void close_transport() {
    if (transport_closing) return;
    transport_closing = true;
    transport->close([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->finish();
    });
  }

  // What the transport settled leaves the spool; the rest stays in it for the next run.
  void finish() {
    if (finished) return;
    take_settled();
    finished = true;
    poll.cancel();
    deadline.cancel();
    if (spool.flush()) {  // a full disk: what it holds in memory is lost, and counted
      const std::size_t lost = spool.discard_unwritten();
      if (dropped == 0 && lost > 0 && on_dropping)
        on_dropping("the spool " + spool.path() + " cannot be written: " + write_problem);
      dropped += lost;
    }
    save_head();
    if (auto done = std::move(on_closed)) {
      on_closed = nullptr;
      done();
    }
  }

  void close(std::function<void()> done) {
    if (finished) return done();
    on_closed = std::move(done);
    closing = true;
    if (transport_gone) return finish();
    wait_for_progress();
    turn();
  }

  // At the end the spool is sent for as long as the server takes it: close_timeout without a
  // message settled (a server away or stalled) ends the wait, what is left staying spooled. A
  // stop bounds it from outside (the CLI gives up on its outputs after the stop grace).
  void wait_for_progress() {
    deadline.expires_after(bounds.close_timeout);
    deadline.async_wait([weak = weak_from_this()](const error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->finished) return;
      self->transport->abandon();  // what it had not settled is in the spool
      self->finish();
    });
  }
};

spooling_sender::spooling_sender(const asio::any_io_executor& loop,
                                 std::shared_ptr<message_sender> transport, const std::string& path,
                                 limits marks)
    : state_(std::make_shared<state>(loop, std::move(transport), path, marks)) {
  // The transport's cue: it may take more now.
  state_->transport->on_backlog([weak = std::weak_ptr<state>(state_)] {
    if (auto self = weak.lock()) self->post_turn();
  });
  if (state_->spool.unread()) state_->post_turn();  // an earlier run's messages go first
}

spooling_sender::~spooling_sender() {
  if (state_->finished) return;
  state_->finished = true;
  try {  // cancelling timers does not fail; a destructor must not throw
    state_->poll.cancel();
    state_->deadline.cancel();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do about it here
  }
}

void spooling_sender::send(std::string message) {
  state& s = *state_;
  // Given up (the children stopped), the spool takes their last lines still: they go to a local
  // file, not to the server, and their pipes hold little (64 KiB each, as a rule).
  if (s.finished ||
      (s.transport_gone && s.spool.pending_bytes() > s.bounds.max_bytes + given_up_slack)) {
    if (s.dropped++ == 0 && s.on_dropping)
      s.on_dropping(s.finished ? "the log was given up" : "the spool is full and the log given up");
    return;
  }
  ++s.accepted;
  s.spool.append(message);
  if (s.spool.waiting_bytes() >= s.bounds.max_bytes) s.update_backlog();
  s.post_turn();
}

bool spooling_sender::backlogged() const {
  return state_->was_backlogged && !state_->finished && !state_->transport_gone;
}

void spooling_sender::on_backlog(std::function<void()> handler) {
  state_->on_backlog = std::move(handler);
}

void spooling_sender::on_dropping(std::function<void(const std::string&)> handler) {
  state_->on_dropping = std::move(handler);
}

void spooling_sender::on_connection_lost(
    std::function<void(std::size_t possibly_lost, const std::string& why)> handler) {
  state_->transport->on_connection_lost(std::move(handler));
}

void spooling_sender::close(std::function<void()> done) {
  state_->close(std::move(done));
}

// The transport gives up what it holds (it is in the spool); the spool goes on taking what
// comes until close().
std::size_t spooling_sender::abandon() {
  state& s = *state_;
  if (s.finished || s.transport_gone) return 0;
  s.transport->abandon();
  s.take_settled();
  s.transport_gone = true;
  s.poll.cancel();
  s.poll_armed = false;
  if (s.closing) s.finish();  // and close()'s `done`
  return 0;
}

std::size_t spooling_sender::dropped() const {
  return state_->dropped;
}

std::size_t spooling_sender::possibly_lost() const {
  return state_->bounds.lost_is_unsettled ? 0 : state_->transport->possibly_lost();
}

std::size_t spooling_sender::settled() const {
  return state_->settled_seen;
}

delivery_counts spooling_sender::counts() const {
  delivery_counts counts = state_->transport->counts();
  counts.accepted = state_->accepted;
  counts.settled = settled();
  counts.dropped = dropped();
  counts.possibly_lost = possibly_lost();
  counts.spooled = spooled();
  return counts;
}

std::string spooling_sender::name() const {
  return state_->transport->name();
}

std::string spooling_sender::path() const {
  return state_->spool.path();
}

std::size_t spooling_sender::spooled() const {
  return state_->spool.pending_messages();
}

std::size_t spooling_sender::carried_over() const {
  return state_->spool.carried_over();
}

std::string spooling_sender::damage() const {
  return state_->spool.damage();
}

std::string spool_file_name(const std::string& directory, const std::string& address_name) {
  std::string file;
  for (std::size_t i = 0; i < address_name.size(); ++i) {
    const char c = address_name[i];
    if (address_name.compare(i, 3, "://") == 0) {
      file += '-';
      i += 2;
    } else if (c == ':' || c == '/') {
      file += file.empty() || file.back() == '-' ? "" : "-";
    } else if (c == '[' || c == ']') {
      continue;
    } else {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
      file += plain ? c : '_';
    }
  }
  return (directory.empty() ? "." : directory) + "/" + file + ".spool";
}

}  // namespace pipemux
