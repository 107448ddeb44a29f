// libFuzzer harness for the .env parser: arbitrary bytes give either variables an environment
// can hold (a key without '=' or NUL, a value without NUL) or a config_error that names the
// file, a line and a column.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "pipemux/config.hpp"
#include "pipemux/env_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto lookup = [](const std::string& name) -> std::optional<std::string> {
      if (name == "SET") return "value";
      return std::nullopt;
    };
    for (const auto& [key, value] : pipemux::parse_env_file(text, "fuzz.env", lookup)) {
      if (key.empty() || key.find_first_of(std::string("=\0", 2)) != std::string::npos)
        std::abort();
      if (value.find('\0') != std::string::npos) std::abort();
    }
  } catch (const pipemux::config_error& e) {
    if (e.source() != "fuzz.env" || e.line() == 0 || e.column() == 0) std::abort();
    if (std::string_view(e.what()).rfind("fuzz.env:", 0) != 0) std::abort();
  }
  return 0;
}
