// libFuzzer harness for the Procfile parser: arbitrary bytes give either programs that a
// Procfile can say again (written back and parsed, the same programs) or a config_error that
// names the file, a line and a column.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "pipemux/config.hpp"
#include "pipemux/procfile.hpp"

namespace {

bool plain_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto programs = pipemux::parse_procfile(text, "Procfile");
    if (programs.empty()) std::abort();
    std::set<std::string> names;
    std::string again;
    for (const auto& program : programs) {
      if (!plain_name(program.name) || !names.insert(program.name).second) std::abort();
      if (program.argv.size() != 3 || program.argv[0] != "/bin/sh" || program.argv[1] != "-c")
        std::abort();
      const std::string& command = program.argv[2];
      // Whitespace after the colon is foreman's (\v and \f too); blanks at the end are dropped.
      if (command.empty() || command.find_first_of(std::string("\n\0", 2)) != std::string::npos ||
          std::string_view(" \t\v\f\r").find(command.front()) != std::string_view::npos ||
          command.back() == ' ' || command.back() == '\t' || command.back() == '\r')
        std::abort();
      again += program.name + ": " + command + "\n";
    }
    const auto reparsed = pipemux::parse_procfile(again, "again");
    if (reparsed.size() != programs.size()) std::abort();
    for (std::size_t i = 0; i < programs.size(); ++i)
      if (reparsed[i].name != programs[i].name || reparsed[i].argv != programs[i].argv)
        std::abort();
  } catch (const pipemux::config_error& e) {
    if (e.source() != "Procfile") std::abort();
    if ((e.line() == 0) != (e.column() == 0)) std::abort();
    if (std::string_view(e.what()).rfind("Procfile:", 0) != 0) std::abort();
  }
  return 0;
}
