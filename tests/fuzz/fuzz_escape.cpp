// libFuzzer harness for the escaping of child output in the text log: what is written holds
// no control byte, and decoding it gives back the original bytes; needs_escape says exactly
// whether escaping changes anything. With a child's colours kept, the only control bytes
// written are the ESC of whole sequences that stay in their place in the line: SGR (ESC '['
// digits ';' ':' 'm'), erase to the end of the line (ESC "[K", ESC "[0K") and erase characters
// (ESC '[' digits 'X'); stripped, none.
// A program's name is escaped the same way, and its bidirectional controls too.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pipemux/escape.hpp"
#include "pipemux/name_escape.hpp"

namespace {

// Every control byte in `text` starts one of the sequences that keep mode may pass.
bool only_line_safe_controls(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != 0x7f) continue;
    if (c != 0x1b || i + 1 >= text.size() || text[i + 1] != '[') return false;
    std::size_t end = i + 2;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) ||
                                 text[end] == ';' || text[end] == ':'))
      ++end;
    if (end >= text.size()) return false;
    const std::string_view parameters = text.substr(i + 2, end - i - 2);
    const bool digits_only = parameters.find_first_of(";:") == std::string_view::npos;
    const bool safe = text[end] == 'm' ||
                      (text[end] == 'K' && (parameters.empty() || parameters == "0")) ||
                      (text[end] == 'X' && digits_only);
    if (!safe) return false;
    i = end;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string escaped;
  pipemux::escape_into(input, escaped);
  for (unsigned char c : escaped)
    if (c < 0x20 || c == 0x7f) std::abort();
  // needs_escape is exact both ways (its fast path must not call plain what escaping changes).
  if (pipemux::needs_escape(input) != (escaped != input)) std::abort();
  const auto decoded = pipemux::unescape(escaped);
  if (!decoded || *decoded != input) std::abort();

  std::string kept, stripped;
  pipemux::escape_into(input, kept, pipemux::ansi_mode::keep);
  pipemux::escape_into(input, stripped, pipemux::ansi_mode::strip);
  if (!only_line_safe_controls(kept)) std::abort();
  for (unsigned char c : stripped)
    if (c < 0x20 || c == 0x7f) std::abort();

  // A name: escaped as text is, with no bidirectional control left, and read back exactly.
  const std::string name = pipemux::escaped_name(input);
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) std::abort();
  if (pipemux::unescape(name) != input) std::abort();
  if (pipemux::name_needs_escape(input) != (name != input)) std::abort();
  for (const char* control : {"\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d",
                              "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"})
    if (name.find(control) != std::string::npos) std::abort();
  return 0;
}
