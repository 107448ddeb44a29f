#include "control_server.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

#include "control_directory.hpp"

namespace pipemux::cli {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
constexpr std::chrono::seconds request_time{5};  // to send a request, and to read the answer

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The directory exists (made now if need be), is a directory, is ours and shut to others.
std::string private_directory_problem(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fmt::format("cannot create {}: {}", dir, std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return fmt::format("{}: {}", dir, std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return fmt::format(
        "{} is not a private directory (owner uid {}, mode {:04o}; it must be uid {} and 0700)",
        dir, st.st_uid, st.st_mode & 07777, ::geteuid());
  return {};
}

// A socket file at `path` is stale when nobody accepts on it (its run was killed): replaced.
std::string clear_the_way(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};  // nothing there
  if (!S_ISSOCK(st.st_mode)) return path + " exists and is not a socket";
  if (control_socket_answers(path)) return path + " is in use: another run answers on it";
  ::unlink(path.c_str());
  return {};
}

// The sockets of killed runs in our own directory (nobody answers on them): they would pile up
// and confuse `pipemux ctl`'s search. A live run's, in any PID namespace, answers and stays.
void remove_stale_sockets(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (!name.ends_with(".sock")) continue;
    std::string path = dir;
    path.append("/").append(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == ::geteuid() &&
        !control_socket_answers(path))
      stale.push_back(path);
  }
  ::closedir(d);
  for (const auto& path : stale) ::unlink(path.c_str());
}

}  // namespace

struct control_server::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, std::string p) : acceptor(io), path(std::move(p)) {}
  local::acceptor acceptor;
  std::string path;
  handler on_request;
  note on_refusal;
  bool closed = false;

  struct connection {
    connection(asio::io_context& io, local::socket s) : socket(std::move(s)), deadline(io) {}
    local::socket socket;
    asio::steady_timer deadline;
    std::string request;
    std::string answer;
    std::string requested_by;  // "pipemux ctl (uid 1000)", for the log line of what it asks
    bool timed_out = false;
  };
  std::set<std::shared_ptr<connection>> open;

  void accept();
  void admit(local::socket socket);
  void read_request(const std::shared_ptr<connection>& c);
  void answer(const std::shared_ptr<connection>& c, std::string text);
  // At most one line a second: refused connections must not flood the log.
  void say_refusal(const std::string& line);
  std::chrono::steady_clock::time_point last_refusal_said{};
  std::size_t refusals_unsaid = 0;
  void drain(const std::shared_ptr<connection>& c);
  void end(const std::shared_ptr<connection>& c);
};

std::optional<control_server> control_server::open(asio::io_context& io, const std::string& path,
                                                   bool private_directory, std::string& error) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    error = fmt::format("{}: a socket's path may be {} bytes at most", path,
                        sizeof(sockaddr_un::sun_path) - 1);
    return std::nullopt;
  }
  if (private_directory) {
    error = private_directory_problem(parent_of(path));
    if (error.empty()) remove_stale_sockets(parent_of(path));
  }
  if (error.empty()) error = clear_the_way(path);
  if (!error.empty()) return std::nullopt;
  auto s = std::make_shared<state>(io, path);
  boost::system::error_code ec;
  s->acceptor.open(local(), ec);
  // Created 0600: nobody else may even connect (SO_PEERCRED is checked as well).
  const mode_t before = ::umask(0177);
  if (!ec) s->acceptor.bind(local::endpoint(path), ec);
  ::umask(before);
  if (!ec) s->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = fmt::format("cannot listen on {}: {}", path, ec.message());
    return std::nullopt;
  }
  ::chmod(path.c_str(), 0600);
  return control_server(std::move(s));
}

control_server::control_server(std::shared_ptr<state> s) : state_(std::move(s)) {}
control_server::control_server(control_server&&) noexcept = default;

control_server::~control_server() {
  try {
    close();
  } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory while closing; nothing to do
  }
}

const std::string& control_server::path() const {
  return state_->path;
}

void control_server::serve(handler on_request, note on_refusal) {
  state_->on_request = std::move(on_request);
  state_->on_refusal = std::move(on_refusal);
  state_->accept();
}

void control_server::close() {
  if (!state_ || state_->closed) return;
  state_->closed = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  ::unlink(state_->path.c_str());
  for (const auto& c : state_->open) {
    c->socket.close(ignored);
    c->deadline.cancel();
  }
  state_->open.clear();
}

void control_server::state::accept() {
  acceptor.async_accept(
      [self = shared_from_this()](boost::system::error_code ec, local::socket socket) {
        if (self->closed) return;
        if (!ec) self->admit(std::move(socket));
        // Out of descriptors (EMFILE) and the like pass; the acceptor itself is never given up.
        self->accept();
      });
}

void control_server::state::admit(local::socket socket) {
  auto c = std::make_shared<connection>(
      static_cast<asio::io_context&>(acceptor.get_executor().context()), std::move(socket));
  ucred peer{};
  socklen_t size = sizeof peer;
  if (::getsockopt(c->socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
    peer.uid = static_cast<uid_t>(-1);
    peer.pid = 0;
  }
  open.insert(c);
  if (peer.uid != ::geteuid() && peer.uid != 0) {
    say_refusal(fmt::format(
        "control: refused a connection from uid {} (pid {}): only {} may "
        "control this run",
        static_cast<long>(peer.uid), peer.pid,
        ::geteuid() == 0 ? std::string("root") : fmt::format("uid {} and root", ::geteuid())));
    return answer(c, fmt::format("error: permission denied: uid {} may not control this run\n",
                                 static_cast<long>(peer.uid)));
  }
  if (open.size() > max_connections)
    return answer(c, "error: busy: too many control connections at once\n");
  c->requested_by = fmt::format("pipemux ctl (uid {})", static_cast<long>(peer.uid));
  read_request(c);
}

void control_server::state::say_refusal(const std::string& line) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_said < std::chrono::seconds(1)) {
    ++refusals_unsaid;
    return;
  }
  on_refusal(refusals_unsaid == 0 ? line
                                  : fmt::format("{} (and {} more refused since the last said)",
                                                line, refusals_unsaid));
  last_refusal_said = now;
  refusals_unsaid = 0;
}

void control_server::state::read_request(const std::shared_ptr<connection>& c) {
  c->deadline.expires_after(request_time);
  c->deadline.async_wait([c](boost::system::error_code ec) {
    if (ec) return;
    c->timed_out = true;
    c->socket.cancel(ec);  // the read ends, and says so
  });
  asio::async_read_until(
      c->socket, asio::dynamic_buffer(c->request, control_request::max_request), '\n',
      [self = shared_from_this(), c](boost::system::error_code ec, std::size_t length) {
        if (self->closed) return;
        if (ec == asio::error::not_found)
          return self->answer(c, fmt::format("error: the request is too long (at most {} bytes)\n",
                                             control_request::max_request));
        if (c->timed_out)
          return self->answer(c,
                              fmt::format("error: no request within {} s\n", request_time.count()));
        // A request without its '\n' counts when the client shut its side down after it.
        if (ec && !(ec == asio::error::eof && !c->request.empty())) return self->end(c);
        c->deadline.cancel();
        std::string line = c->request.substr(0, length == 0 ? c->request.size() : length);
        if (!line.empty() && line.back() == '\n') line.pop_back();
        std::string error;
        const auto request = control_request::parse(line, error);
        if (!request) return self->answer(c, "error: " + error + "\n");
        std::weak_ptr<state> weak = self;
        self->on_request(*request, c->requested_by, [weak, c](std::string text) {
          if (const auto alive = weak.lock(); alive && !alive->closed)
            alive->answer(c, std::move(text));
        });
      });
}

void control_server::state::answer(const std::shared_ptr<connection>& c, std::string text) {
  if (!c->socket.is_open()) return end(c);
  c->answer = std::move(text);
  c->deadline.expires_after(request_time);
  c->deadline.async_wait([c](boost::system::error_code ec) {
    if (!ec) c->socket.close(ec);
  });
  asio::async_write(c->socket, asio::buffer(c->answer),
                    [self = shared_from_this(), c](boost::system::error_code ec, std::size_t) {
                      if (ec) return self->end(c);
                      self->drain(c);
                    });
}

// The answer is written: our side ends, and what the client still sends (a request we did
// not read, when it was refused at once) is read and dropped until it closes its side (the
// deadline bounds that): closing with unread input would reset the connection, and the
// client could lose the answer.
void control_server::state::drain(const std::shared_ptr<connection>& c) {
  boost::system::error_code ignored;
  c->socket.shutdown(local::socket::shutdown_send, ignored);
  c->request.resize(512);
  c->socket.async_read_some(
      asio::buffer(c->request),
      [self = shared_from_this(), c](boost::system::error_code ec, std::size_t) {
        if (ec || self->closed) return self->end(c);
        self->drain(c);
      });
}

void control_server::state::end(const std::shared_ptr<connection>& c) {
  boost::system::error_code ignored;
  c->deadline.cancel();
  c->socket.shutdown(local::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  open.erase(c);
}

}  // namespace pipemux::cli
