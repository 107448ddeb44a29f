#include "command_line.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <cmath>
#include <iostream>

#include "pipemux/exit_status.hpp"
#include "pipemux/version.hpp"

namespace pipemux::cli {
namespace {

// A number of seconds: finite and within [min, max] (CLI::Range lets nan through, and a nan
// grace made every pipe look abandoned at once).
CLI::Validator seconds_between(double min, double max) {
  return CLI::Validator(
      [min, max](const std::string& text) -> std::string {
        double value = 0;
        try {
          std::size_t used = 0;
          value = std::stod(text, &used);
          if (used != text.size()) return "not a number of seconds: " + text;
        } catch (const std::exception&) {
          return "not a number of seconds: " + text;
        }
        if (!std::isfinite(value) || value < min || value > max)
          return fmt::format("must be between {} and {} seconds (got {})", min, max, text);
        return {};
      },
      fmt::format("SECONDS in [{} - {}]", min, max));
}

void add_spam_options(CLI::App& app, spam_options& spam) {
  app.add_option("--count", spam.count, "Messages per child; 0 = for ever");
  app.add_option("--interval", spam.interval, "Seconds between messages")
      ->check(seconds_between(0, 3600));
  app.add_option("--payload", spam.payload, "Pad each message to at least this many bytes")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  app.add_flag("--sequence", spam.sequence,
               "Tag each message with the child's index and a sequence number");
}

// A flag whose value is one of the names in `table` (the config file's names).
template <class T>
CLI::Option* add_choice(CLI::App& app, const std::string& flag, T& value,
                        std::span<const named<T>> table, const std::string& help) {
  std::string names;
  for (const auto& [name, v] : table) names += (names.empty() ? "" : "|") + std::string(name);
  return app
      .add_option_function<std::string>(
          flag,
          [&value, table](const std::string& given) {
            for (const auto& [name, v] : table)
              if (given == name) value = v;
          },
          help)
      ->type_name(names)
      ->check([table, names](const std::string& given) {
        for (const auto& [name, v] : table)
          if (given == name) return std::string();
        return "must be one of " + names + " (got " + given + ")";
      });
}

}  // namespace

command parse_command_line(int argc, const char* const* argv) {
  CLI::App app{
      "pipemux: runs child processes and streams their output into one timestamped log.\n"
      "With no COMMAND and no [[program]] in the config, runs the built-in spam producer."};
  app.set_version_flag("--version", std::string("pipemux ") + PIPEMUX_VERSION_STRING);

  std::string config_path;
  std::size_t children = 0;
  std::size_t read_size = 0;
  framing_mode framing{};
  stderr_mode stderr_handling{};
  stop_condition stop_on{};
  cgroup_mode cgroup{};
  restart_mode restart{};
  std::size_t max_restarts = 0;
  std::string stop_signal;
  std::size_t max_line = 0;
  std::string output;
  std::string pattern;
  double stop_grace = 0;
  std::vector<std::string> child_command;

  app.add_option("-c,--config", config_path, "TOML config file (see config/pipemux.toml)")
      ->check(CLI::ExistingFile);
  auto* children_opt = app.add_option("-n,--children", children, "Children per program")
                           ->check(CLI::Range(std::size_t{1}, limits::max_children));
  auto* read_size_opt = app.add_option("-r,--read-size", read_size, "Bytes per read of each pipe")
                            ->check(CLI::Range(std::size_t{1}, limits::max_read_size));
  auto* framing_opt = add_choice<framing_mode>(app, "--framing", framing, framing_names,
                                               "line: one message per line; raw: one per read");
  auto* stderr_opt =
      add_choice<stderr_mode>(app, "--stderr", stderr_handling, stderr_names,
                              "Children's stderr: its own pipe, merged into stdout, or inherited");
  auto* max_line_opt =
      app.add_option("--max-line", max_line, "Longer lines are logged in pieces of this size")
          ->check(CLI::Range(std::size_t{1}, limits::max_line));
  auto* output_opt =
      app.add_option("-o,--output", output, "Append the log to FILE instead of standard output");
  auto* pattern_opt =
      app.add_option("--log-pattern", pattern, "spdlog pattern; see README for %L %N %k %w %J %Z");
  auto* grace_opt = app.add_option("--stop-grace", stop_grace,
                                   "Seconds a child gets after the stop signal before SIGKILL")
                        ->check(seconds_between(0, 3600));
  auto* stop_signal_opt = app.add_option("--stop-signal", stop_signal,
                                         "Signal that asks a child to stop (default SIGTERM)")
                              ->check([](const std::string& name) {
                                return parse_signal(name) ? std::string() : "not a signal: " + name;
                              });
  auto* stop_on_opt = add_choice<stop_condition>(app, "--stop-on", stop_on, stop_on_names,
                                                 "End the run when one child fails, or exits");
  auto* cgroup_opt = add_choice<cgroup_mode>(
      app, "--cgroup", cgroup, cgroup_names,
      "Run the children in a cgroup of their own when possible (auto), never, or only so");
  auto* restart_opt = add_choice<restart_mode>(app, "--restart", restart, restart_names,
                                               "Restart children that exit");
  auto* max_restarts_opt =
      app.add_option("--max-restarts", max_restarts, "Restarts per child at most")
          ->check(CLI::Range(std::size_t{0}, limits::max_restarts));
  app.add_option("command", child_command,
                 "Run COMMAND (after --) instead of the configured programs");

  spam_request spam;
  auto* spam_app = app.add_subcommand(
      "spam", "The built-in producer: writes \"Spam 0\" ... \"Spam 4\", cycling");
  add_spam_options(*spam_app, spam.options);
  spam_app->add_option("--index", spam.index,
                       "Child index shown in --sequence mode (default: $PIPEMUX_CHILD_INDEX)");
  spam_app->add_option(
      "--record", spam.record_prefix,
      "Save how many messages were written to PREFIX<index>, even when stopped by a signal");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "pipemux: error: " << e.what() << " (see pipemux --help)\n";
    return exit_code::usage;
  }
  if (spam_app->parsed()) return spam;

  supervise_request request;
  try {
    if (!config_path.empty()) request.cfg = load_config_file(config_path);
  } catch (const config_error& e) {
    std::cerr << "pipemux: error: " << e.what() << "\n";
    return exit_code::usage;
  }
  config& cfg = request.cfg;
  if (*read_size_opt) cfg.run.read_size = read_size;
  if (*framing_opt) cfg.run.framing = framing;
  if (*stderr_opt) cfg.run.stderr_handling = stderr_handling;
  if (*stop_signal_opt) cfg.run.stop_signal = *parse_signal(stop_signal);
  if (*stop_on_opt) cfg.run.stop_on = stop_on;
  if (*cgroup_opt) cfg.run.cgroup = cgroup;
  if (*restart_opt) cfg.run.restart.mode = restart;
  if (*max_restarts_opt) cfg.run.restart.max_restarts = max_restarts;
  if (*max_line_opt) cfg.run.max_line = max_line;
  if (*output_opt) {
    cfg.log.output = output;
    cfg.log.output_origin = "--output";
  }
  if (*pattern_opt) cfg.log.pattern = pattern;
  if (*grace_opt)
    cfg.run.stop_grace = std::chrono::milliseconds(static_cast<long long>(stop_grace * 1000));
  if (!child_command.empty()) {
    program_spec spec;
    spec.name = std::filesystem::path(child_command.front()).filename().string();
    spec.argv = std::move(child_command);
    spec.instances = 0;
    cfg.programs = {std::move(spec)};
  }
  if (*children_opt) {  // the flag wins over every instance count in the file
    cfg.children = children;
    for (auto& spec : cfg.programs) spec.instances = 0;
  }
  std::size_t total = 0;
  for (const auto& spec : cfg.resolved_programs()) total += spec.instances;
  if (total > limits::max_children) {
    std::cerr << "pipemux: error: " << total << " children in all; at most " << limits::max_children
              << " are supported\n";
    return exit_code::usage;
  }
  return request;
}

}  // namespace pipemux::cli
