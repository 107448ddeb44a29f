// The command line's flags (CLI11 declarations): their values, and whether each was given.
// precedence.hpp lays them over the config file.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "pipemux/config.hpp"
#include "program_selection.hpp"

// CLI11 stays in options.cpp and command_line.cpp: its header is heavy.
namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pipemux::cli {

/// Whether `option` was given on the command line.
bool given(const CLI::Option* option);

/// A flag's value, and its CLI11 option: true when it was given.
template <class T>
struct flag {
  T value{};
  CLI::Option* option = nullptr;
  explicit operator bool() const { return given(option); }
};

struct command_line_flags {
  flag<std::string> config_path;
  flag<std::size_t> children;
  flag<std::size_t> read_size;
  flag<framing_mode> framing;
  flag<stderr_mode> stderr_handling;
  flag<std::size_t> max_line;
  flag<std::string> stop_grace;  // kept as written: rounded to the millisecond from its digits
  flag<std::string> stop_signal;
  flag<stop_condition> stop_on;
  flag<std::string> success{.value = "all"};
  bool timings = false;
  bool group = false;
  bool input = false;
  flag<std::string> input_target;
  flag<std::string> control;
  flag<cgroup_mode> cgroup;
  flag<restart_mode> restart;
  flag<std::size_t> max_restarts;
  flag<std::size_t> max_processes;

  flag<std::vector<std::string>> outputs;
  bool journal = false;
  bool syslog = false;
  flag<std::string> syslog_to{.value = "local"};
  flag<int> syslog_facility{.value = 1};
  flag<std::size_t> syslog_max_message{.value = default_syslog_max_message};
  flag<std::string> syslog_tls_ca, syslog_tls_cert, syslog_tls_key;
  flag<std::string> syslog_spool;
  flag<std::string> pattern;
  flag<log_format_kind> format;
  bool raw = false;  // --raw: --format raw
  flag<color_choice> color;
  flag<timestamp_style> timestamps;
  flag<ansi_mode> ansi;

  std::vector<std::string> shell_commands;  // before --: each one shell command line
  flag<std::vector<std::string>> names;
  flag<std::string> procfile;
  flag<int> port;
  std::vector<std::string> env_files;
  program_selection selection;
  std::vector<std::string> hidden;
  bool pty = false;

  spam_request spam;
  CLI::App* spam_command = nullptr;
  CLI::App* check_command = nullptr;
};

/// Declares every flag of `app` (and the spam subcommand), writing into `flags`, which must
/// outlive the parse. --help shows each default: the CLI's own (config{}).
void declare_options(CLI::App& app, command_line_flags& flags);

}  // namespace pipemux::cli
