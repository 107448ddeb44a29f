// A problem in a config file, an env file or a Procfile, located: "file:line:column: key: problem".
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace pipemux {

/// A config problem, located: "pipemux.toml:3:13: read_size: must be between 1 and 16777216".
class config_error : public std::runtime_error {
 public:
  /// `syntax`: the text is not TOML (or not what the file's format allows) at that point, so
  /// what comes after it cannot be read reliably; otherwise one value or key is wrong.
  config_error(std::string source, std::size_t line, std::size_t column, std::string key,
               std::string problem, bool syntax = false);
  const std::string& source() const noexcept { return source_; }
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }
  const std::string& key() const noexcept { return key_; }
  const std::string& problem() const noexcept { return problem_; }
  bool syntax() const noexcept { return syntax_; }

 private:
  std::string source_;
  std::size_t line_, column_;
  std::string key_, problem_;
  bool syntax_ = false;
};

}  // namespace pipemux
