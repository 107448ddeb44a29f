#include "log/relp_session.hpp"

extern "C" {  // librelp.h declares its C functions without it
#include <librelp.h>
}

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace pipemux::detail {

namespace {

void no_debug_output(char* /*format*/, ...) {}

char syslog_command[] = "syslog";

unsigned char* bytes(std::string& text) {
  return reinterpret_cast<unsigned char*>(text.data());  // librelp takes them so; never writes
}

// Why a TCP connection to `address` cannot be made, in the system's words (librelp says only
// "error opening connection"); empty when it can. librelp connects to the first address found.
std::string tcp_problem(const syslog_address& address, std::chrono::seconds limit) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int failed = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found))
    return "cannot resolve \"" + address.host + "\": " + ::gai_strerror(failed);
  std::string why;
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          found->ai_protocol);
  if (fd < 0 || (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS)) {
    why = std::strerror(errno);
  } else {
    pollfd writable{fd, POLLOUT, 0};
    int error = 0;
    socklen_t size = sizeof error;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
    if (::poll(&writable, 1, static_cast<int>(wait)) == 0)
      why = "no answer within " + std::to_string(limit.count()) + " s";
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error != 0)
      why = std::strerror(error);
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  return why;
}

}  // namespace

relp_session::relp_session(syslog_address address, syslog_tls_files tls, relp_sender::limits bounds,
                           std::atomic<int>& stop_now)
    : address_(std::move(address)), tls_(std::move(tls)), bounds_(bounds), stop_now_(stop_now) {
  if (relpEngineConstruct(&engine_) != RELP_RET_OK) {
    engine_ = nullptr;
    return;
  }
  relpEngineSetDbgprint(engine_, no_debug_output);
  relpEngineSetOnErr(engine_, on_error);
  relpEngineSetOnAuthErr(engine_, on_tls_error);
  relpEngineSetEnableCmd(engine_, reinterpret_cast<unsigned char*>(syslog_command),
                         eRelpCmdState_Required);
  // librelp reads it as a plain int between two polls; the loop stores to it atomically.
  static_assert(sizeof(std::atomic<int>) == sizeof(int));
  relpEngineSetShutdownImmdtPtr(engine_, reinterpret_cast<int*>(&stop_now_));
}

relp_session::~relp_session() {
  if (client_ != nullptr) relpEngineCltDestruct(engine_, &client_);
  if (engine_ != nullptr) relpEngineDestruct(&engine_);
}

// librelp says what went wrong from the bottom up ("error connecting: 'Connection refused'",
// then "error opening connection to remote peer"): the first of an attempt is the one to tell.
void relp_session::on_error(void* user, char* /*object*/, char* message, int code) {
  auto* self = static_cast<relp_session*>(user);
  if (self->first_error_.empty())
    self->first_error_ = std::string(message) + " (librelp error " + std::to_string(code) + ")";
  ++self->errors_;
}

// A certificate refused: what librelp says of it, and of whom.
void relp_session::on_tls_error(void* user, char* who, char* message, int /*code*/) {
  auto* self = static_cast<relp_session*>(user);
  if (self->first_error_.empty())
    self->first_error_ = "TLS: " + std::string(message) + " (" + who + ")";
  ++self->errors_;
}

void relp_session::take_first_error() {
  last_error_ = first_error_.empty() ? std::string("no answer") : first_error_;
  first_error_.clear();
}

// A client with the sender's limits, and TLS as the sink asks: the server's certificate signed
// by the CA and naming the host.
bool relp_session::make_client() {
  if (relpEngineCltConstruct(engine_, &client_) != RELP_RET_OK) {
    client_ = nullptr;
    return false;
  }
  relpCltSetUsrPtr(client_, this);
  relpCltSetTimeout(client_, static_cast<unsigned>(bounds_.timeout.count()));
  relpCltSetConnTimeout(client_, static_cast<int>(bounds_.connect_timeout.count()));
  relpCltSetWindowSize(client_, bounds_.window);
  if (tls_.on()) {
    relpCltEnableTLS(client_);
    relpCltSetCACert(client_, tls_.ca.data());
    if (!tls_.cert.empty()) {
      relpCltSetOwnCert(client_, tls_.cert.data());
      relpCltSetPrivKey(client_, tls_.key.data());
    }
    relpCltSetAuthMode(client_, name_auth_.data());
    relpCltAddPermittedPeer(client_, address_.host.data());
  }
  client_connected_ = false;
  return true;
}

bool relp_session::connect() {
  first_error_.clear();
  if (client_ == nullptr && !make_client()) {
    last_error_ = "librelp cannot make a client";
    return false;
  }
  std::string port = std::to_string(address_.port);
  std::string host = address_.host;
  const relpRetVal made = client_connected_ ? relpCltReconnect(client_)
                                            : relpCltConnect(client_, 0, bytes(port), bytes(host));
  take_first_error();
  // librelp says only "error opening connection" of a name that does not resolve or a port
  // that refuses: the system's own words are more use.
  if (made == RELP_RET_IO_ERR)
    if (std::string why = tcp_problem(address_, bounds_.connect_timeout); !why.empty())
      last_error_ = std::move(why);
  if (made == RELP_RET_TIMED_OUT)
    last_error_ = "no answer within " + std::to_string(bounds_.timeout.count()) +
                  " s (to connecting, or to RELP's \"open\")";
  client_connected_ = client_connected_ || made == RELP_RET_OK;
  up_ = made == RELP_RET_OK;
  return up_;
}

std::size_t relp_session::send(std::vector<std::string>& batch) {
  first_error_.clear();
  std::size_t sent = 0;
  for (; sent < batch.size(); ++sent) {
    std::string& message = batch[sent];
    if (relpCltSendSyslog(client_, bytes(message), message.size()) != RELP_RET_OK) break;
    recent_.push_back(message);
    if (recent_.size() > static_cast<std::size_t>(bounds_.window)) recent_.pop_front();
  }
  if (sent < batch.size()) {
    take_first_error();
    up_ = false;
  }
  return sent;
}

bool relp_session::close() {
  if (client_ == nullptr) return false;
  const unsigned errors_before = errors_;
  const bool clean = up_ && stop_now_.load() == 0;
  relpEngineCltDestruct(engine_, &client_);
  client_ = nullptr;
  up_ = false;
  return clean && errors_ == errors_before;
}

}  // namespace pipemux::detail
