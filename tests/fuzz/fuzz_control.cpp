// libFuzzer harness for the control socket's request parser (src/cli/control_request.hpp):
// arbitrary bytes from a client give either a request whose line() reads back as the same
// request, in one line, or a one-line error; never a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/control_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pipemux::cli::control_request;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto request = control_request::parse(text, error);
  if (!request) {
    if (error.empty() || error.find('\n') != std::string::npos) std::abort();
    return 0;
  }
  const std::string line = request->line();
  if (line.find('\n') != std::string::npos || line.size() > 4 * control_request::max_request)
    std::abort();
  std::string again_error;
  const auto again = control_request::parse(line, again_error);
  if (line.size() < control_request::max_request &&
      (!again || again->what != request->what || again->target != request->target ||
       again->count != request->count || again->json != request->json))
    std::abort();
  const auto which = pipemux::cli::resolve_target(request->target, {"web", "web.1", "w\\x"});
  if (which.program.empty() && !request->target.empty()) std::abort();
  return 0;
}
