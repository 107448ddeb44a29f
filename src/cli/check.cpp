#include "check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <string>

#include "command_line.hpp"
#include "pipemux/config.hpp"
#include "pipemux/config_error.hpp"
#include "pipemux/env_file.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/name_escape.hpp"
#include "pipemux/procfile.hpp"
#include "pipemux/shell_command.hpp"
#include "pipemux/socket_sender.hpp"
#include "report.hpp"

namespace pipemux::cli {
namespace {

// The command as the user gave it: a shell line as written, an argv with quotes where needed.
std::string command_text(const program_spec& spec) {
  if (spec.argv.size() == 3 && spec.argv[0] == command_shell && spec.argv[1] == "-c")
    return "sh -c '" + escaped(spec.argv[2]) + "'";
  std::string text;
  for (const auto& arg : spec.argv) {
    if (!text.empty()) text += ' ';
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"\\$`") == std::string::npos;
    text += plain ? escaped(arg) : "'" + escaped(arg) + "'";
  }
  return text;
}

std::string probe_text(const probe& p) {
  switch (p.kind) {
    case probe_kind::log:
      return "a line matches \"" + escaped(p.target) + "\"";
    case probe_kind::tcp:
      return escaped(p.target) + " accepts";
    case probe_kind::exec:
      return "sh -c '" + escaped(p.target) + "' exits 0";
    case probe_kind::http:
      return escaped(p.target) + " answers 2xx";
  }
  return {};
}

// What else a child of `spec` is given: its directory and the variables set for it.
std::string setting_text(const program_spec& spec, std::size_t instance) {
  std::vector<std::string> parts;
  if (!spec.working_directory.empty()) parts.push_back("cwd " + escaped(spec.working_directory));
  if (spec.port)
    parts.push_back(fmt::format("PORT={}", *spec.port + static_cast<long long>(instance)));
  std::string variables;
  for (const auto& [name, value] : spec.environment)
    variables += (variables.empty() ? "" : ", ") + escaped(name);
  if (!variables.empty()) parts.push_back("env " + variables);
  if (spec.pty) parts.emplace_back("on a terminal");
  std::string after;
  for (const auto& d : spec.depends_on)
    after += fmt::format("{}{} ({})", after.empty() ? "" : ", ", escaped_name(d.program),
                         name_of(d.condition, dependency_condition_names));
  if (!after.empty()) parts.push_back("after " + after);
  if (spec.ready) parts.push_back("ready when " + probe_text(*spec.ready));
  if (spec.alive) parts.push_back("alive while " + probe_text(*spec.alive));
  if (parts.empty()) return {};
  return " (" + fmt::format("{}", fmt::join(parts, "; ")) + ")";
}

std::string output_text(const log_sink_options& sink, log_format_kind run_format) {
  const log_format_kind format = sink.format.value_or(run_format);
  const std::string_view format_name = format == log_format_kind::json  ? "json"
                                       : format == log_format_kind::raw ? "raw"
                                                                        : "text";
  switch (sink.kind) {
    case sink_kind::journal:
      return "the systemd journal";
    case sink_kind::syslog:
      // A socket's path may hold any byte; a host was checked when read (a name or an address).
      return "syslog at " +
             (sink.address.via == syslog_address::transport::unix_datagram
                  ? escaped(sink.address.host)
                  : socket_address_name(sink.address)) +
             (sink.tls.on() && !sink.address.tls ? " over TLS" : "") +
             (sink.spool.empty() ? ""
                                 : fmt::format(", spooled in {} ({} MiB at most)",
                                               escaped(sink.spool), sink.spool_max >> 20));
    case sink_kind::file:
      break;
  }
  return fmt::format("{} ({})", sink.to_stdout() ? "standard output" : escaped(sink.path),
                     format_name);
}

}  // namespace

int check_run(const config& cfg, const std::vector<program_spec>& programs, std::ostream& out) {
  std::size_t problems = 0;
  std::size_t children = 0;
  for (const auto& spec : programs) {
    if (spec.instances == 0) continue;
    for (std::size_t i = 0; i < spec.instances; ++i, ++children)
      out << escaped_name(spec.name) << '.' << i << "  " << command_text(spec)
          << setting_text(spec, i) << '\n';
    // The same check a start makes, once per program: all of them, not the first alone.
    if (const std::string problem = start_problem(spec); !problem.empty()) {
      report_error("program '" + escaped_name(spec.name) + "': " + problem, exit_code::usage);
      ++problems;
    }
  }
  if (cfg.log.sinks.empty()) {
    out << "log: " << output_text(log_sink_options{}, cfg.log.format) << '\n';
  } else {
    for (const auto& sink : cfg.log.sinks)
      out << "log: " << output_text(sink, cfg.log.format) << '\n';
  }
  out << fmt::format(
      "{} {} of {} program{}; {}\n", children, children == 1 ? "child" : "children",
      programs.size(), programs.size() == 1 ? "" : "s",
      problems == 0 ? "no problem found"
                    : fmt::format("{} program{} cannot start", problems, problems == 1 ? "" : "s"));
  out.flush();
  return problems == 0 ? exit_code::ok : exit_code::usage;
}

std::vector<std::string> every_problem(std::string text,
                                       const std::function<void(std::string_view)>& parse) {
  struct found {
    std::size_t line, column;
    std::string what;
  };
  std::vector<found> problems;
  std::set<std::size_t> blanked;
  constexpr std::size_t most = 100;
  bool more = false;
  while (true) {
    try {
      parse(text);
      break;
    } catch (const config_error& e) {
      // Past a syntax error nothing can be read reliably; and one that appears once a line is
      // blanked is of our making (the line began a value that spans lines).
      if (e.syntax() && !problems.empty()) break;
      if (problems.size() == most) {
        more = true;
        break;
      }
      problems.push_back({e.line(), e.column(), e.what()});
      if (e.syntax() || e.line() == 0 || !blanked.insert(e.line()).second) break;
      // Line e.line() (from 1) becomes empty; the others keep their numbers.
      std::size_t begin = 0;
      for (std::size_t line = 1; line < e.line() && begin != std::string::npos; ++line) {
        begin = text.find('\n', begin);
        if (begin != std::string::npos) ++begin;
      }
      if (begin == std::string::npos) break;
      const std::size_t end = text.find('\n', begin);
      const std::string_view line(text.data() + begin,
                                  (end == std::string::npos ? text.size() : end) - begin);
      // A table's header: without it, its keys would join the table before (bogus mistakes,
      // and the programs after it numbered one too low).
      if (const auto first = line.find_first_not_of(" \t");
          first != std::string_view::npos && line[first] == '[')
        break;
      text.erase(begin, line.size());
    }
  }
  // In the file's order, whichever was found first.
  std::stable_sort(problems.begin(), problems.end(), [](const found& a, const found& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  std::vector<std::string> said;
  said.reserve(problems.size() + 1);
  for (auto& problem : problems) said.push_back(std::move(problem.what));
  if (more) said.push_back(fmt::format("and perhaps more: check names the first {}", most));
  return said;
}

std::vector<std::string> every_file_problem(const files_to_check& files) {
  const auto read = [](const std::filesystem::path& path, std::string& text) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    text = contents.str();
    return static_cast<bool>(in);
  };
  std::vector<std::string> problems;
  const auto add = [&problems](std::vector<std::string> more) {
    problems.insert(problems.end(), more.begin(), more.end());
  };
  std::string text;
  if (files.config && read(*files.config, text))
    add(every_problem(
        text, [source = files.config->string()](std::string_view t) { parse_config(t, source); }));
  if (files.procfile && read(*files.procfile, text))
    add(every_problem(text, [source = files.procfile->string()](std::string_view t) {
      parse_procfile(t, source);
    }));
  for (const auto& env : files.env_files)
    if (read(env, text))
      add(every_problem(text, [source = env.string()](std::string_view t) {
        parse_env_file(t, source, environment_lookup);
      }));
  return problems;
}

}  // namespace pipemux::cli
