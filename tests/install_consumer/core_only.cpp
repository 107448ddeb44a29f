// A service that only supervises: built against pipemux-core alone (no spdlog, no toml++).
#include <pipemux/supervisor.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>

int main() {
  boost::asio::io_context io;
  pipemux::supervisor sup(io.get_executor());
  int status = 1;
  sup.async_run(
      {{"greeter", {"echo", "hello from a child"}, 1}},
      [](const pipemux::message& m) { std::cout << m.child->name << ": " << m.bytes << "\n"; },
      [&](pipemux::error_code ec, pipemux::run_summary) { status = ec ? 1 : 0; });
  io.run();
  return status;
}
