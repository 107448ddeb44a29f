#include "log_outputs.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/daily_file_sink.h>
#include <spdlog/sinks/hourly_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "pipemux/fd_sink.hpp"
#include "pipemux/fd_writer.hpp"
#include "pipemux/json_format.hpp"
#include "pipemux/log_format.hpp"
#include "pipemux/spdlog_adapter.hpp"

namespace pipemux::cli {

struct log_outputs::output {
  log_sink_options spec;
  std::string name;
  bool color = false;
  int fd = -1;                        // a plain file's, for reopen()
  std::shared_ptr<fd_writer> writer;  // standard output and plain files
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<spdlog::formatter> formatter;  // a copy, for a reopened rotating file
  std::unique_ptr<spdlog_adapter> adapter;
};

namespace {

constexpr std::size_t default_rotated_files = 5;

// spdlog opens its files without O_CLOEXEC; our children never see them (spawn closes every
// fd above 2), but other programs started from this process must not either.
spdlog::file_event_handlers close_on_exec() {
  spdlog::file_event_handlers handlers;
  handlers.after_open = [](const spdlog::filename_t&, std::FILE* file) {
    ::fcntl(::fileno(file), F_SETFD, FD_CLOEXEC);
  };
  return handlers;
}

// A rotating file: by size, or a new file each day (at midnight) or hour, with spdlog's sinks.
spdlog::sink_ptr rotating_file(const log_sink_options& spec) {
  switch (spec.rotate) {
    case rotation_kind::size:
      return std::make_shared<spdlog::sinks::rotating_file_sink_st>(
          spec.path, spec.max_size, spec.max_files != 0 ? spec.max_files : default_rotated_files,
          false, close_on_exec());
    case rotation_kind::daily:
      return std::make_shared<spdlog::sinks::daily_file_sink_st>(
          spec.path, 0, 0, false, static_cast<std::uint16_t>(spec.max_files), close_on_exec());
    case rotation_kind::hourly:
      return std::make_shared<spdlog::sinks::hourly_file_sink_st>(
          spec.path, false, static_cast<std::uint16_t>(spec.max_files), close_on_exec());
    case rotation_kind::none:
      break;
  }
  return nullptr;
}

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

std::string cannot_open(const log_sink_options& spec, const std::string& why) {
  return (spec.origin.empty() ? "" : spec.origin + ": ") + "cannot open output '" + spec.path +
         "': " + why;
}

}  // namespace

std::string output_name(const log_sink_options& sink) {
  return sink.to_stdout() ? "standard output" : "'" + sink.path + "'";
}

log_outputs::log_outputs(const log_options& log, std::span<const program_spec> programs,
                         const boost::asio::any_io_executor& loop, const environment_reader& getenv)
    : stdout_is_terminal_(::isatty(STDOUT_FILENO) == 1) {
  std::vector<log_sink_options> sinks = log.sinks;
  if (sinks.empty()) sinks.emplace_back();  // standard output
  for (auto& spec : sinks) {
    auto out = std::make_unique<output>();
    out->name = output_name(spec);
    const bool json = spec.format.value_or(log.format) == log_format_kind::json;
    const bool color =
        !json && colors_wanted(log.color, spec.to_stdout(), stdout_is_terminal_, getenv);
    out->color = color;
    spdlog::sink_ptr sink;
    if (spec.rotate != rotation_kind::none) {
      try {
        sink = rotating_file(spec);
      } catch (const spdlog::spdlog_ex& e) {
        throw output_open_error(cannot_open(spec, e.what()));
      }
    } else {
      out->fd = spec.to_stdout() ? STDOUT_FILENO : open_append(spec.path);
      if (out->fd < 0) throw output_open_error(cannot_open(spec, std::strerror(errno)));
      out->writer = std::make_shared<fd_writer>(out->fd, out->fd != STDOUT_FILENO);
      sink = std::make_shared<fd_sink_st>(out->writer);
    }
    out->logger = std::make_shared<spdlog::logger>("pipemux", sink);
    out->formatter =
        json ? make_json_formatter()
             : make_log_formatter(log_pattern(log), log_style_for(log, programs, color));
    out->logger->set_formatter(out->formatter->clone());
    out->adapter = std::make_unique<spdlog_adapter>(out->logger, loop, identity_in::flags,
                                                    ansi_for(log, color));
    out->adapter->pass_raw_bytes(json);  // the JSON formatter escapes for itself, losslessly
    out->spec = std::move(spec);
    outputs_.push_back(std::move(out));
  }
}

log_outputs::~log_outputs() = default;

bool log_outputs::coloured() const {
  return std::any_of(outputs_.begin(), outputs_.end(), [](const auto& out) { return out->color; });
}

void log_outputs::operator()(std::span<const message> read) {
  for (const auto& out : outputs_) (*out->adapter)(read);
}

// A report has one time in every output.
void log_outputs::operator()(const child_event& e) {
  const auto now = log_clock::now();
  for (const auto& out : outputs_) (*out->adapter)(e, now);
}

void log_outputs::operator()(const run_summary& s) {
  const auto now = log_clock::now();
  for (const auto& out : outputs_) (*out->adapter)(s, now);
}

void log_outputs::note(spdlog::level::level_enum level, std::string_view text) {
  const auto now = log_clock::now();
  for (const auto& out : outputs_) out->adapter->note(level, text, now);
}

void log_outputs::on_backlog(const std::function<void()>& handler) {
  for (const auto& out : outputs_)
    if (out->writer) out->writer->on_backlog([handler](bool) { handler(); });
}

void log_outputs::on_error(std::function<void(output_failure)> handler) {
  // The first failure of all, whichever thread it comes from.
  auto reported = std::make_shared<std::atomic<bool>>(false);
  auto report = [handler = std::move(handler), reported](output_failure failure) {
    if (!reported->exchange(true)) handler(std::move(failure));
  };
  for (const auto& out : outputs_) {
    if (out->writer)
      out->writer->on_error(
          [report, name = out->name, to_stdout = out->spec.to_stdout()](std::error_code ec) {
            report({ec, name, to_stdout, {}});
          });
    else  // spdlog's file sinks throw; the logger hands what they say to its error handler
      out->logger->set_error_handler([report, name = out->name](const std::string& what) {
        report({std::make_error_code(std::errc::io_error), name, false, what});
      });
  }
}

bool log_outputs::backlogged() const {
  for (const auto& out : outputs_)
    if (out->writer && out->writer->backlogged()) return true;
  return false;
}

std::size_t log_outputs::abandon() {
  std::size_t dropped = 0;
  for (const auto& out : outputs_)
    if (out->writer) dropped += out->writer->abandon();
  return dropped;
}

void log_outputs::close(std::function<void()> done) {
  // `done` once every writer has written all it has queued; spdlog's files are flushed here.
  auto pending = std::make_shared<std::atomic<std::size_t>>(1);
  auto one_done = [pending, done = std::move(done)] {
    if (pending->fetch_sub(1) == 1) done();
  };
  for (const auto& out : outputs_) {
    out->logger->flush();
    if (out->writer) {
      pending->fetch_add(1);
      out->writer->close(one_done);
    }
  }
  one_done();
}

std::vector<std::string> log_outputs::reopen() {
  std::vector<std::string> problems;
  for (const auto& out : outputs_) {
    if (out->spec.to_stdout()) continue;
    out->logger->flush();
    if (out->writer) {
      // The new file takes the old one's descriptor number: the writer's thread goes on
      // writing to "its" fd, and a write(2) already under way ends in the old file.
      const int fresh = open_append(out->spec.path);
      if (fresh < 0 || ::dup3(fresh, out->fd, O_CLOEXEC) < 0)
        problems.push_back(cannot_open(out->spec, std::strerror(errno)));
      if (fresh >= 0) ::close(fresh);
      continue;
    }
    try {
      spdlog::sink_ptr sink = rotating_file(out->spec);
      sink->set_formatter(out->formatter->clone());
      out->logger->sinks().front() = std::move(sink);  // the old one is flushed and closed
    } catch (const spdlog::spdlog_ex& e) {
      problems.push_back(cannot_open(out->spec, e.what()));
    }
  }
  return problems;
}

}  // namespace pipemux::cli
