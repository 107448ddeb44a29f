// .env files, read as python-dotenv reads them (honcho, foreman and docker compose read the
// same files): `KEY=value`, `export KEY=value`, quotes, comments, `${VAR:-default}`.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipemux {

/// The variables of a .env file, in order, as python-dotenv's dotenv_values() gives them:
/// - `KEY=value` and `export KEY=value`; a key is any run of characters but '=', '#' and
///   whitespace, or any text in single quotes; a line with a key and no '=' sets nothing.
/// - An unquoted value ends at the line's end, less a comment (whitespace, then '#') and
///   trailing whitespace. A value in single quotes is literal but for \\' and \\\\; one in double
///   quotes also decodes \\" \\a \\b \\f \\n \\r \\t \\v. Quoted values may span lines.
/// - `${NAME}` and `${NAME:-default}` in any value are replaced by the value of NAME set earlier
///   in the file, else `lookup(NAME)` (the environment; never asked for a NAME holding '=',
///   which no environment holds), else the default, else nothing.
/// - Line ends are "\n", "\r\n" or "\r" (read as "\n", as Python reads text).
/// What python-dotenv skips with a warning is a config_error here, with its line and column:
/// "app.env:3:9: expected a line end after the value, got 'x'"; so is a NUL byte, and a key
/// holding '=', which no environment can hold.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
std::vector<std::pair<std::string, std::string>> parse_env_file(std::string_view text,
                                                                const std::string& source,
                                                                const env_lookup& lookup);

/// Looks names up in this process's environment; nullopt for a name holding '=' (getenv
/// would match a prefix of another variable's entry).
std::optional<std::string> environment_lookup(const std::string& name);

/// Reads (at most limits::max_config_size bytes) and parses a .env file; config_error when it
/// cannot be read.
std::vector<std::pair<std::string, std::string>> load_env_file(
    const std::filesystem::path& path, const env_lookup& lookup = environment_lookup);

}  // namespace pipemux
