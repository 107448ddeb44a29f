// Internal: the fast check behind needs_escape, sixteen bytes at a time. Most child output is
// printable ASCII, which escaping leaves unchanged; proving that should cost a pass at memory
// speed, not a branch per byte.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace pipemux::detail {

/// When every byte of `text` is printable ASCII other than '\\' (which escape_into copies
/// unchanged) or a '\n', the number of '\n'; else nullopt, which says nothing more: the text
/// may still be well-formed UTF-8. The lines of one read, with the newlines between them, are
/// proved plain in one call by checking that the newlines are only those between the lines.
std::optional<std::size_t> plain_ascii_newlines(std::string_view text) noexcept;

/// Whether every byte of `text` is printable ASCII other than '"' and '\\': what a JSON string
/// holds as it is (no escape, and well-formed UTF-8 without a look at each byte).
bool plain_json_string(std::string_view text) noexcept;

}  // namespace pipemux::detail
