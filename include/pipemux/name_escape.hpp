// How a program's name is shown wherever pipemux prints it (log labels, error lines): escaped
// as a child's text is, and its bidirectional controls too, so that a name cannot turn the
// rest of a line around on a terminal ("gpj<RIGHT-TO-LEFT OVERRIDE>exe.sh" shows "gpjhs.exe").
// A child's own text keeps them: it is the child's to write.
#pragma once

#include <string>
#include <string_view>

namespace pipemux {

/// True when escape_name_into would change `name`: needs_escape(name), or it holds a
/// bidirectional control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
bool name_needs_escape(std::string_view name) noexcept;

/// Appends `name` as escape_into would, with each bidirectional control's bytes as "\\xHH"
/// too ("\\xe2\\x80\\xae" for U+202E): unescape() still gives back every byte.
void escape_name_into(std::string_view name, std::string& out);

/// escape_name_into, for error messages.
inline std::string escaped_name(std::string_view name) {
  std::string out;
  escape_name_into(name, out);
  return out;
}

}  // namespace pipemux
