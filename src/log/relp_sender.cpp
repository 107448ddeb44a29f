#include "pipemux/relp_sender.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "log/relp_session.hpp"
#include "pipemux/socket_sender.hpp"

namespace pipemux {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{5000};
constexpr std::chrono::milliseconds max_tls_backoff{60000};
constexpr std::size_t max_batch = 256;  // messages taken off the queue at once

}  // namespace

struct relp_sender::state : std::enable_shared_from_this<state> {
  state(const asio::any_io_executor& executor, syslog_address where, syslog_tls_files files,
        limits marks)
      : loop(executor), address(std::move(where)), tls(std::move(files)), bounds(marks) {}

  asio::any_io_executor loop;
  syslog_address address;
  syslog_tls_files tls;
  limits bounds;
  // No Asio object here: the thread may hold the last reference after the loop is gone (it
  // ends within `timeout`), and an Asio object must not outlive its io_context. close()'s
  // timer is the sender's own (deadline_).

  // Between the loop and the thread, under `mutex`.
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> queue;  // not handed to librelp yet, oldest first
  std::size_t waiting = 0;        // bytes of the queue and of the thread's batch
  bool closing = false;           // send what is queued, close, end
  bool giving_up = false;         // end at once
  bool backlog_shown = false;     // the loop went backlogged: the thread tells when it drained
  std::string no_session_why;     // while there is no session: why, for the end's report
  bool detached = false;          // the sender is gone: the thread posts nothing more
  // librelp's "shut down immediately", which its waits look at between two polls.
  std::atomic<int> stop_now{0};
  std::atomic<std::size_t> sent{0}, sessions{0};
  std::atomic<std::size_t> resent{0};  // librelp's window at each break, and the end's copy
  std::thread worker;

  // The loop's.
  std::size_t pushed = 0, dropped = 0, possibly_lost = 0;
  bool was_backlogged = false, finished = false, closed_cleanly = false;
  std::function<void()> on_backlog;
  std::function<void(const std::string&)> on_dropping;
  std::function<void(std::size_t, const std::string&)> on_connection_lost;
  std::function<void()> on_closed;
  std::function<void()> cancel_deadline;  // close()'s timer, while the sender is there

  // The thread's: librelp's engine and client.
  std::unique_ptr<detail::relp_session> session;

  std::string name() const { return socket_address_name(address); }

  // --- on the loop -------------------------------------------------------------------------

  void push(std::string message) {
    if (finished) return drop(1, "the log was given up");
    ++pushed;
    {
      const std::lock_guard lock(mutex);
      waiting += message.size();
      queue.push_back(std::move(message));
      update_backlog();
    }
    wake.notify_one();
  }

  // Under the mutex: the thread reads backlog_shown under it too, after its batch, so that a
  // backlog it drained is always told.
  void update_backlog() {
    const bool over = was_backlogged ? waiting > bounds.low_water : waiting > bounds.high_water;
    backlog_shown = over;
    if (over == was_backlogged) return;
    was_backlogged = over;
    if (on_backlog)
      asio::post(loop, [self = shared_from_this()] {
        if (self->on_backlog) self->on_backlog();
      });
  }

  void drop(std::size_t count, const std::string& why) {
    if (count == 0) return;
    if (dropped == 0 && on_dropping) on_dropping(why);
    dropped += count;
  }

  // Sends what is queued and closes; `deadline` ends the wait at close_timeout.
  void close(std::function<void()> done, asio::steady_timer& deadline) {
    if (finished) return done();  // abandoned before: nothing is left to send
    on_closed = std::move(done);
    {
      const std::lock_guard lock(mutex);
      closing = true;
    }
    wake.notify_one();
    deadline.expires_after(bounds.close_timeout);
    deadline.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->finished) return;
      self->finish(false, self->give_up("not taken by the server in the time pipemux waits at "
                                        "the end"));
    });
  }

  // Ends the thread's work at once (it ends within `timeout`, librelp's waits being in
  // seconds); returns `why`, and why there is no session if there is none.
  std::string give_up(const std::string& why) {
    std::string said = why;
    {
      const std::lock_guard lock(mutex);
      giving_up = true;
      queue.clear();
      if (!why.empty())
        said += " (" +
                (no_session_why.empty() ? "connected, the server's acknowledgements awaited"
                                        : no_session_why) +
                ")";
    }
    stop_now.store(1);
    wake.notify_one();
    return said;
  }

  void set_no_session_why(std::string why) {
    const std::lock_guard lock(mutex);
    no_session_why = std::move(why);
  }

  // The counts are taken here: whatever was never handed to librelp is dropped; what it held
  // unconfirmed may be lost (the window at most).
  void finish(bool confirmed, const std::string& why) {
    if (finished) return;
    finished = true;
    if (cancel_deadline) cancel_deadline();  // a timer waiting would keep the loop running
    const std::size_t handed = sent.load();
    drop(pushed - std::min(pushed, handed), why);
    closed_cleanly = confirmed;
    if (!confirmed) possibly_lost = std::min<std::size_t>(handed, bounds.window);
    if (auto done = std::move(on_closed)) {
      on_closed = nullptr;
      done();
    }
  }

  // --- on the thread -------------------------------------------------------------------------

  // Under the mutex: once the sender is destroyed (and with it, maybe soon, the loop), nothing.
  template <typename Handler>
  void post_from_thread(Handler&& handler) {
    const std::lock_guard lock(mutex);
    if (!detached) asio::post(loop, std::forward<Handler>(handler));
  }

  void tell_loop_connection_lost(std::string why) {
    post_from_thread([self = shared_from_this(), why = std::move(why)] {
      if (!self->finished && self->on_connection_lost) self->on_connection_lost(0, why);
    });
  }

  bool giving_up_now() {
    const std::lock_guard lock(mutex);
    return giving_up;
  }

  // The end of the run, and the session did not close cleanly (it broke after the last
  // message, or never came back): librelp's window went with its client, so the last `window`
  // messages sent go again on a new session, until one closes cleanly or close()'s time is up.
  // At least once: those the server had may arrive twice (the same seq).
  bool resend_recent() {
    std::deque<std::string>& recent = session->recent();
    std::chrono::milliseconds backoff = first_backoff;
    while (!recent.empty() && !giving_up_now()) {
      if (session->connect()) {
        std::vector<std::string> again(std::make_move_iterator(recent.begin()),
                                       std::make_move_iterator(recent.end()));
        recent.clear();  // send() keeps again those that go
        const std::size_t went = session->send(again);
        resent += went;
        if (went == again.size() && session->close()) return true;
        recent.insert(recent.end(),
                      std::make_move_iterator(again.begin() + static_cast<std::ptrdiff_t>(went)),
                      std::make_move_iterator(again.end()));
      }
      session->close();
      set_no_session_why("cannot connect: " + session->last_error());
      wait_before_retry(backoff);
    }
    return recent.empty();
  }

  // Takes the next messages off the queue into `batch`; false when the thread is to end.
  bool next_batch(std::vector<std::string>& batch) {
    std::unique_lock lock(mutex);
    wake.wait(lock, [this] { return giving_up || closing || !queue.empty(); });
    if (giving_up || queue.empty()) return false;
    const std::size_t count = std::min(queue.size(), max_batch);
    batch.assign(std::make_move_iterator(queue.begin()),
                 std::make_move_iterator(queue.begin() + static_cast<std::ptrdiff_t>(count)));
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(count));
    return true;
  }

  // The first `sent_now` of the batch went; the rest goes back to the front of the queue.
  void batch_done(std::vector<std::string>& batch, std::size_t sent_now) {
    bool drained = false;
    {
      const std::lock_guard lock(mutex);
      for (std::size_t i = 0; i < sent_now; ++i) waiting -= batch[i].size();
      queue.insert(queue.begin(),
                   std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(sent_now)),
                   std::make_move_iterator(batch.end()));
      drained = backlog_shown && waiting <= bounds.low_water;
    }
    batch.clear();
    if (drained)
      post_from_thread([self = shared_from_this()] {
        if (self->finished) return;
        const std::lock_guard lock(self->mutex);
        self->update_backlog();
      });
  }

  // A certificate refused is a setting to fix, not a server restarting: tried every minute
  // (librelp 1.11 also keeps some 30 KB of GnuTLS's state for each refused handshake).
  void wait_before_retry(std::chrono::milliseconds& backoff) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, backoff, [this] { return giving_up; });
    const bool refused = session && session->last_error().starts_with("TLS:");
    backoff = std::min(backoff * 2, refused ? max_tls_backoff : max_backoff);
  }

  // Sends what the loop queues, a batch at a time, making the session (again) when it is down,
  // until closing with nothing left (or giving up); then closes it.
  void run() {
    session = std::make_unique<detail::relp_session>(address, tls, bounds, stop_now);
    if (!session->made()) {
      post_from_thread([self = shared_from_this()] { self->finish(false, "librelp failed"); });
      return;
    }
    bool outage_told = false;
    std::chrono::milliseconds backoff = first_backoff;
    std::vector<std::string> batch;
    set_no_session_why("connecting: no answer to RELP's \"open\" yet");
    while (next_batch(batch)) {
      if (!session->up() && !session->connect()) {  // the batch waits at the queue's front
        batch_done(batch, 0);
        set_no_session_why("cannot connect: " + session->last_error());
        if (!outage_told) tell_loop_connection_lost("cannot connect: " + session->last_error());
        outage_told = true;
        wait_before_retry(backoff);
        continue;
      }
      if (sessions.load() == 0 || outage_told) {
        ++sessions;
        set_no_session_why({});
      }
      outage_told = false;
      backoff = first_backoff;
      const std::size_t sent_now = session->send(batch);
      sent += sent_now;
      if (sent_now < batch.size()) {  // the session broke: librelp keeps its window for the next
        resent += std::min<std::size_t>(sent.load(), static_cast<std::size_t>(bounds.window));
        outage_told = true;
        set_no_session_why("the session broke: " + session->last_error());
        tell_loop_connection_lost(session->last_error());
      }
      batch_done(batch, sent_now);
    }
    const bool confirmed = session->close() || (!giving_up_now() && resend_recent());
    session.reset();
    post_from_thread([self = shared_from_this(), confirmed] {
      self->finish(confirmed, "the server was not there to take them");
    });
  }
};

relp_sender::relp_sender(const asio::any_io_executor& loop, syslog_address address,
                         syslog_tls_files tls, limits marks)
    : state_(std::make_shared<state>(loop, std::move(address), std::move(tls), marks)),
      deadline_(std::make_unique<asio::steady_timer>(loop)) {
  state_->worker = std::thread([self = state_] { self->run(); });
}

// The thread may be in one of librelp's waits, which end within `timeout`: it is left to end on
// its own (it holds the state), so that destroying a sender never waits on a server.
relp_sender::~relp_sender() {
  state_->cancel_deadline = nullptr;  // the timer goes with the sender
  state_->give_up({});
  {
    const std::lock_guard lock(state_->mutex);
    state_->detached = true;
  }
  if (state_->worker.joinable()) state_->worker.detach();
}

void relp_sender::send(std::string message) {
  state_->push(std::move(message));
}

bool relp_sender::backlogged() const {
  return state_->was_backlogged && !state_->finished;
}

void relp_sender::on_backlog(std::function<void()> handler) {
  state_->on_backlog = std::move(handler);
}

void relp_sender::on_dropping(std::function<void(const std::string&)> handler) {
  state_->on_dropping = std::move(handler);
}

void relp_sender::on_connection_lost(
    std::function<void(std::size_t possibly_lost, const std::string& why)> handler) {
  state_->on_connection_lost = std::move(handler);
}

void relp_sender::close(std::function<void()> done) {
  state_->cancel_deadline = [timer = deadline_.get()] { timer->cancel(); };
  state_->close(std::move(done), *deadline_);
}

std::size_t relp_sender::abandon() {
  const std::size_t before = state_->dropped;
  state_->finish(false, state_->give_up("pipemux gave up on them"));
  return state_->dropped - before;
}

std::size_t relp_sender::dropped() const {
  return state_->dropped;
}

std::size_t relp_sender::possibly_lost() const {
  return state_->possibly_lost;
}

delivery_counts relp_sender::counts() const {
  const state& s = *state_;
  return {.accepted = s.pushed,
          .settled = settled(),
          .resent = s.resent.load(),
          .dropped = s.dropped,
          .possibly_lost = s.possibly_lost,
          .connections = s.sessions.load()};
}

std::size_t relp_sender::settled() const {
  const std::size_t handed = state_->sent.load();
  if (state_->closed_cleanly) return handed;
  const auto window = static_cast<std::size_t>(state_->bounds.window);
  return handed > window ? handed - window : 0;
}

std::string relp_sender::name() const {
  return state_->name();
}

std::size_t relp_sender::sent() const {
  return state_->sent.load();
}

std::size_t relp_sender::sessions() const {
  return state_->sessions.load();
}

}  // namespace pipemux
