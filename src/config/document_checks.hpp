// Checks of a TOML document's text before and around toml++'s parse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pipemux::detail {

/// Throws config_error for a line with more dotted parts than any pipemux key has: toml++
/// nests a table per part, recursively, and 50,000 of them overflow the stack.
void refuse_deep_nesting(std::string_view text, const std::string& source);

/// The key a parse error on line `wanted` is about, when that line is a plain "key = value"
/// (a number too big, say): "log.output" for a line in a [log] table; else empty.
std::string key_on_line(std::string_view text, std::size_t wanted);

}  // namespace pipemux::detail
