#include "input_forwarder.hpp"

#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>

#include "pipemux/name_escape.hpp"
#include "report.hpp"

namespace pipemux::cli {

input_routes::input_routes(const std::vector<program_spec>& programs, const std::string& target) {
  std::size_t first = 0;
  for (const auto& p : programs) {
    programs_.push_back({p.name, first, p.instances});
    first += p.instances;
  }
  if (target.empty()) {
    if (first > 0) target_ = {0};
    return;
  }
  target_ = children_of(target);
  if (target_.empty()) {
    std::string known;
    for (const auto& p : programs_) known += (known.empty() ? "" : ", ") + escaped_name(p.name);
    throw usage_error("--input-target: '" + escaped_name(target) +
                      "' is neither NAME nor NAME.N of a program here (" + known + ")");
  }
}

std::vector<std::size_t> input_routes::children_of(std::string_view name) const {
  for (const auto& p : programs_) {
    if (name == p.name) {
      std::vector<std::size_t> all(p.count);
      for (std::size_t i = 0; i < p.count; ++i) all[i] = p.first + i;
      return all;
    }
    // NAME.N: one of its children, numbered from 0 as labels are.
    if (name.size() > p.name.size() + 1 && name.starts_with(p.name) && name[p.name.size()] == '.') {
      const auto number = name.substr(p.name.size() + 1);
      if (number.find_first_not_of("0123456789") != std::string_view::npos || number.size() > 6)
        continue;
      const std::size_t instance = std::stoul(std::string(number));
      if (instance < p.count) return {p.first + instance};
    }
  }
  return {};
}

input_routes::routed input_routes::route(std::string_view line) const {
  const auto colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    auto named = children_of(line.substr(0, colon));
    if (!named.empty()) return {std::move(named), line.substr(colon + 1)};
  }
  return {target_, line};
}

namespace {

// A descriptor of our own for what fd 0 reads, non-blocking, for the loop: a terminal or a
// pipe opened again through /proc (a new open file description, so the shell's stays
// blocking), else a socket's copy. -1 for a file (or /dev/null): epoll takes none, and a file
// never blocks.
int own_stdin_descriptor() {
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0 || S_ISREG(st.st_mode) ||
      (S_ISCHR(st.st_mode) && ::isatty(STDIN_FILENO) != 1))
    return -1;
  int fd = ::open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && S_ISSOCK(st.st_mode)) {
    fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return fd;
}

}  // namespace

input_forwarder::input_forwarder(boost::asio::io_context& io, supervisor& children,
                                 input_routes routes, std::size_t child_count)
    : io_(io),
      children_(children),
      routes_(std::move(routes)),
      child_count_(child_count),
      stdin_(io),
      buffer_(65536) {
  if (const int fd = own_stdin_descriptor(); fd >= 0) {
    boost::system::error_code ec;
    stdin_.assign(fd, ec);
    if (ec) ::close(fd);
  }
  read_some();
}

input_forwarder::~input_forwarder() {
  stop();
}

void input_forwarder::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  stdin_.close(ignored);  // our own descriptor: fd 0 stays as it was
}

void input_forwarder::read_some() {
  if (stopped_) return;
  if (stdin_.is_open()) {
    stdin_.async_read_some(boost::asio::buffer(buffer_),
                           [this](boost::system::error_code ec, std::size_t n) {
                             if (stopped_ || ec == boost::asio::error::operation_aborted) return;
                             if (ec || n == 0) return end_of_input();
                             forward(std::string_view(buffer_.data(), n));
                           });
    return;
  }
  boost::asio::post(io_, [this] {  // a file: read in turns of the loop
    if (stopped_) return;
    ssize_t n = -1;
    do {
      n = ::read(STDIN_FILENO, buffer_.data(), buffer_.size());
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return end_of_input();
    forward(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
  });
}

// A line is routed by its start ("NAME:"), decided once that is known: a ':' or the line's end
// came, or more bytes than a name could take. The rest of the line then goes on to the same
// children as it comes, without waiting for its end (a line need not fit in memory).
void input_forwarder::forward(std::string_view data) {
  pending_ = 1;  // this call's own: reading goes on once every write below is done
  while (!data.empty()) {
    const auto end = data.find('\n');
    std::string_view piece = data.substr(0, end == std::string_view::npos ? data.size() : end + 1);
    if (!line_targets_) {
      const std::size_t room = decide_limit - std::min(partial_.size(), decide_limit);
      piece = piece.substr(0, std::max<std::size_t>(room, 1));
      partial_.append(piece);
      data.remove_prefix(piece.size());
      if (partial_.find(':') == std::string::npos && partial_.back() != '\n' &&
          partial_.size() < decide_limit)
        continue;  // the name may go on in the next read
      const auto routed = routes_.route(partial_);
      line_targets_ = routed.children;
      send(routed.text);
      partial_.clear();
    } else {
      data.remove_prefix(piece.size());
      send(piece);
    }
    if (piece.ends_with('\n')) line_targets_.reset();
  }
  sent_one();
}

void input_forwarder::send(std::string_view text) {
  if (text.empty()) return;
  for (const std::size_t child : *line_targets_) {
    ++pending_;
    children_.send_input(child, std::string(text), [this](std::error_code) {
      sent_one();  // a child that is gone or closed its stdin does not hold the rest back
    });
  }
}

void input_forwarder::sent_one() {
  if (--pending_ == 0 && !stopped_) read_some();
}

void input_forwarder::end_of_input() {
  if (!partial_.empty()) {  // the start of a last line without '\n' goes as it is
    const auto routed = routes_.route(partial_);
    for (const std::size_t child : routed.children)
      children_.send_input(child, std::string(routed.text));
    partial_.clear();
  }
  for (std::size_t child = 0; child < child_count_; ++child) children_.close_input(child);
}

}  // namespace pipemux::cli
