// pipemux's configuration: built-in defaults, then a TOML file, then command-line flags.
// Parsing is here; the TOML library stays inside src/config.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipemux/config_error.hpp"
#include "pipemux/log_options.hpp"
#include "pipemux/named.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux {

inline constexpr named<framing_mode> framing_names[] = {{"line", framing_mode::line},
                                                        {"raw", framing_mode::raw}};
inline constexpr named<stderr_mode> stderr_names[] = {{"capture", stderr_mode::capture},
                                                      {"merge", stderr_mode::merge},
                                                      {"inherit", stderr_mode::inherit}};
inline constexpr named<restart_mode> restart_names[] = {{"never", restart_mode::never},
                                                        {"on-failure", restart_mode::on_failure},
                                                        {"always", restart_mode::always}};
inline constexpr named<stop_condition> stop_on_names[] = {{"never", stop_condition::all_done},
                                                          {"failure", stop_condition::any_failure},
                                                          {"exit", stop_condition::any_exit}};
inline constexpr named<cgroup_mode> cgroup_names[] = {{"auto", cgroup_mode::if_available},
                                                      {"off", cgroup_mode::off},
                                                      {"required", cgroup_mode::required}};
/// The built-in producer (`pipemux spam`), run when no program is configured.
struct spam_options {
  std::uint64_t count = 0;  ///< messages per child; 0 = for ever
  double interval = 0.5;    ///< seconds between messages
  std::size_t payload = 0;  ///< pad each message to at least this many bytes
  bool sequence = false;    ///< tag each message with the child's index and a sequence number
};

struct config {
  config() { run.cgroup = cgroup_mode::if_available; }  // the tool contains its run if it may
  run_options run;
  std::size_t children = 1;  ///< instances of each program that does not say
  /// Empty: run `children` built-in spam producers. An `instances` of 0 means "not set".
  std::vector<program_spec> programs;
  spam_options spam;
  log_options log;
  /// Set in every child's environment, under its program's own `env` (from --env-file).
  std::vector<std::pair<std::string, std::string>> environment;
  bool pty = false;  ///< every program on a pseudo-terminal (--pty), as if each said `pty`
  /// Program name -> its [[program]] `env_file`: load_config_file reads each into the front of
  /// the program's environment (under its `env`); parse_config only records them.
  std::vector<std::pair<std::string, std::filesystem::path>> program_env_files;

  /// `programs` with every unset instance count replaced by `children`, `environment` under
  /// each one's own, and `pty` applied.
  std::vector<program_spec> resolved_programs() const;
};

/// Applies the TOML document `text` on top of `base`; `source` names it in errors.
/// Unknown keys, wrong types and values out of range throw config_error.
config parse_config(std::string_view text, const std::string& source, config base = {});

/// Reads and applies a TOML file; an unreadable file is a config_error too.
config load_config_file(const std::filesystem::path& path, config base = {});

}  // namespace pipemux
