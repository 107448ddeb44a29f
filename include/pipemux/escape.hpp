// How child output that is not printable text is shown in a text log: escaped, reversibly,
// so a terminal is never garbled and the original bytes can be recovered from the log.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pipemux {

/// True when `text` would be changed by escape_into: it holds a control byte, a backslash,
/// a C1 control or bytes that are not well-formed UTF-8.
bool needs_escape(std::string_view text) noexcept;

/// Appends `text` to `out` with: '\\' as "\\\\"; tab, newline and carriage return as "\\t",
/// "\\n", "\\r"; every other C0/C1 control, DEL and every byte that is not part of well-formed
/// UTF-8 as "\\xHH". Printable ASCII and well-formed UTF-8 pass through unchanged.
void escape_into(std::string_view text, std::string& out);

/// What escape_into does with a child's own terminal sequences that cannot move the cursor out
/// of its place in the line: SGR (ESC '[' digits, ';' or ':' ... 'm', colours), erase to the end
/// of the line (ESC "[K", ESC "[0K") and erase characters (ESC '[' n 'X'). Every other control
/// byte and sequence (cursor moves, erasing the line's start or the screen, OSC titles) is
/// escaped whatever the mode.
enum class ansi_mode : unsigned char {
  escape,  ///< escaped like any control byte ("\\x1b[31m"): the log stays exactly recoverable
  keep,    ///< passed through, for a terminal; text that leaves a colour on ends with ESC "[0m"
  strip,   ///< removed
};

/// escape_into, with `text`'s SGR sequences handled as `ansi` says.
void escape_into(std::string_view text, std::string& out, ansi_mode ansi);

/// escape_into, for text that is not on a hot path (names in error messages).
inline std::string escaped(std::string_view text) {
  std::string out;
  escape_into(text, out);
  return out;
}

/// The inverse of escape_into; nullopt when `escaped` is not something escape_into writes.
std::optional<std::string> unescape(std::string_view escaped);

}  // namespace pipemux
