// Internal: reads a small text file (a config, a Procfile, a .env) whole, bounded, so that
// `-c /dev/zero` ends with an error instead of reading for ever.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace pipemux::detail {

/// The file's bytes; config_error naming the path when it cannot be read or is larger than
/// limits::max_config_size ("larger than 1 MiB: not a `kind`").
std::string read_text_file(const std::filesystem::path& path, std::string_view kind);

}  // namespace pipemux::detail
