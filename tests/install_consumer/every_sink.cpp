// A service that logs its children as the pipemux CLI does, with nothing but the installed
// package: the log options come from TOML (parse_config), and log_outputs opens every sink they
// name: a JSON file, a text file rotated by size, and syslog to a local socket (this program's
// own, standing in for /dev/log). Prints "every sink: ok" when each got the child's line.
#include <pipemux/pipemux.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int fail(const std::string& what) {
  std::cerr << "every_sink: " << what << "\n";
  return 1;
}

}  // namespace

int main() {
  char dir_template[] = "/tmp/pipemux-every-sink.XXXXXX";
  const char* dir_name = ::mkdtemp(dir_template);
  if (dir_name == nullptr) return fail("mkdtemp failed");
  const std::filesystem::path dir = dir_name;
  const std::string socket_path = (dir / "syslog.sock").string();

  // The syslog server: a datagram socket, read once the run is over.
  const int server = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  if (server < 0 ||
      ::bind(server, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return fail("cannot bind " + socket_path);

  const pipemux::config cfg = pipemux::parse_config(
      "[[program]]\nname = \"greeter\"\ncommand = [\"echo\", \"hello from a child\"]\n"
      "[[log.sink]]\npath = \"" +
          (dir / "run.jsonl").string() +
          "\"\nformat = \"json\"\n"
          "[[log.sink]]\npath = \"" +
          (dir / "run.log").string() +
          "\"\nmax_size = \"1M\"\n"
          "[[log.sink]]\ntype = \"syslog\"\naddress = \"unix:" +
          socket_path + "\"\n",
      "service.toml");
  const std::vector<pipemux::program_spec> programs = cfg.resolved_programs();

  boost::asio::io_context io;
  // close() finishes on the writers' threads: the loop runs (syslog is sent on it) until then.
  auto work = boost::asio::make_work_guard(io);
  pipemux::log_outputs log(cfg.log, programs, io.get_executor(),
                           [](const std::string&) { return std::optional<std::string>(); });
  pipemux::supervisor sup(io.get_executor(), cfg.run);
  sup.async_run_per_read(
      programs, [&](std::span<const pipemux::message> read) { log(read); },
      [&](const pipemux::child_event& e) { log(e); },
      [&](pipemux::error_code, pipemux::run_summary summary) {
        log(summary);
        log.close([&] { boost::asio::post(io, [&] { work.reset(); }); });
      });
  io.run();

  const std::string line = "hello from a child";
  const std::string json = read_file(dir / "run.jsonl");
  if (json.find("\"" + line + "\"") == std::string::npos || json.front() != '{')
    return fail("the JSON file holds: " + json);
  if (read_file(dir / "run.log").find(line) == std::string::npos)
    return fail("the rotating file holds: " + read_file(dir / "run.log"));
  bool syslog_got_it = false;
  char datagram[65536];
  for (ssize_t n; (n = ::recv(server, datagram, sizeof datagram, 0)) > 0;)
    syslog_got_it = syslog_got_it || std::string(datagram, n).find(line) != std::string::npos;
  if (!syslog_got_it) return fail("no syslog message holds the child's line");
  ::close(server);
  std::filesystem::remove_all(dir);
  std::cout << "every sink: ok\n";
  return 0;
}
