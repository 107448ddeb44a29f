// libFuzzer harness for the config loader: arbitrary bytes never crash it; they give either a
// valid config or a config_error that names the file, a line and a column.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pipemux/config.hpp"
#include "pipemux/name_escape.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const pipemux::config cfg = pipemux::parse_config(text, "fuzz.toml");
    if (cfg.run.read_size == 0 || cfg.run.max_line == 0 || cfg.children == 0) std::abort();
    // The system takes argv words, the cwd, variables and paths as C strings: a NUL would cut
    // them short.
    const auto has_nul = [](const std::string& bytes) {
      return bytes.find('\0') != std::string::npos;
    };
    for (const auto& program : cfg.programs) {
      if (program.name.empty() || program.argv.empty()) std::abort();
      if (pipemux::name_needs_escape(program.name)) std::abort();  // it labels every log line
      for (const auto& word : program.argv)
        if (has_nul(word)) std::abort();
      if (has_nul(program.working_directory)) std::abort();
      for (const auto& [key, value] : program.environment)
        if (key.empty() || key.find('=') != std::string::npos || has_nul(key) || has_nul(value))
          std::abort();
    }
    for (const auto& sink : cfg.log.sinks)
      if (has_nul(sink.path)) std::abort();
  } catch (const pipemux::config_error& e) {
    if (e.source() != "fuzz.toml" || e.line() == 0 || e.column() == 0) std::abort();
    const std::string_view what(e.what());
    if (what.rfind("fuzz.toml:", 0) != 0) std::abort();
  }
  return 0;
}
