#include "pipemux/log_outputs.hpp"

#include <spdlog/logger.h>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>

#include "pipemux/fd_sink.hpp"
#include "pipemux/fd_writer.hpp"
#include "pipemux/journal_sink.hpp"
#include "pipemux/json_format.hpp"
#include "pipemux/log_format.hpp"
#include "pipemux/raw_format.hpp"
#include "pipemux/relp_sender.hpp"
#include "pipemux/rotating_file.hpp"
#include "pipemux/socket_sender.hpp"
#include "pipemux/spdlog_adapter.hpp"
#include "pipemux/spooling_sender.hpp"
#include "pipemux/syslog_sink.hpp"

namespace pipemux {

struct log_outputs::output {
  log_sink_options spec;
  std::string name;
  bool color = false;
  int fd = -1;                              // a plain file's, for reopen()
  std::shared_ptr<fd_writer> writer;        // standard output and the run's files
  std::shared_ptr<rotating_file> rotation;  // a rotating file's, for reopen()
  std::shared_ptr<fd_sink_st> direct;       // a child's own file, written on the loop
  std::shared_ptr<socket_sender> journal;   // the journal's socket
  std::shared_ptr<message_sender> syslog;   // a socket_sender or a relp_sender, or:
  std::shared_ptr<spooling_sender> spool;   // the syslog sender, when it has a disk spool
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<spdlog_adapter> adapter;
};

namespace {

constexpr std::size_t default_rotated_files = 5;

// A syslog server is buffered for, then dropped and counted (it may come back); over TCP each
// connection it ends says how many messages it acknowledged that it may not have read. RELP
// drops nothing while the run goes on: what its server had not acknowledged is sent again.
void watch_syslog(message_sender& sender, bool spooled) {
  sender.on_dropping([name = sender.name()](const std::string& why) {
    std::cerr << "pipemux: warning: syslog " << name << ": dropping messages: " << why
              << " (the count comes at the end)\n";
  });
  sender.on_connection_lost([name = sender.name(), spooled](std::size_t possibly_lost,
                                                            const std::string& why) {
    if (why.starts_with("cannot connect")) {  // RELP: no session yet, or not again
      std::cerr << "pipemux: warning: syslog " << name << ": " << why << "; trying again, "
                << (spooled ? "spooling the children's lines" : "the children's lines wait")
                << "\n";
      return;
    }
    std::cerr << "pipemux: warning: syslog " << name << ": connection lost (" << why << ")";
    if (possibly_lost > 0)
      std::cerr << ": up to " << possibly_lost << " messages the server acknowledged may be lost";
    std::cerr << "; sending again what it had not acknowledged\n";
  });
}

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

// An output's error, after where the output was set: "pipemux.toml:4:10: log.sink[0].type: ".
std::string from_origin(const log_sink_options& spec, const std::string& what) {
  return (spec.origin.empty() ? "" : spec.origin + ": ") + what;
}

std::string cannot_open(const log_sink_options& spec, const std::string& why) {
  return from_origin(spec, "cannot open output '" + spec.path + "': " + why);
}

// The sink's disk spool, in front of its sender; says what an earlier run left in it.
std::shared_ptr<spooling_sender> open_spool(const log_sink_options& spec,
                                            std::shared_ptr<message_sender> transport,
                                            const boost::asio::any_io_executor& loop) {
  spooling_sender::limits marks;
  marks.max_bytes = spec.spool_max;
  marks.lost_is_unsettled = spec.address.via == syslog_address::transport::relp;
  const std::string name = transport->name();
  std::shared_ptr<spooling_sender> spool;
  try {
    spool = std::make_shared<spooling_sender>(loop, std::move(transport),
                                              spool_file_name(spec.spool, name), marks);
  } catch (const std::runtime_error& e) {
    throw output_open_error(from_origin(spec, "syslog " + name + ": " + e.what()));
  }
  if (!spool->damage().empty())
    std::cerr << "pipemux: warning: syslog " << name << ": spool " << spool->path() << ": "
              << spool->damage() << "\n";
  if (spool->carried_over() > 0)
    std::cerr << "pipemux: syslog " << name << ": sending first the " << spool->carried_over()
              << " messages an earlier run left in " << spool->path() << "\n";
  return spool;
}

std::string_view transport_name(const syslog_address& address) {
  switch (address.via) {
    case syslog_address::transport::udp:
      return "udp";
    case syslog_address::transport::tcp:
      return address.tls ? "tls" : "tcp";
    case syslog_address::transport::relp:
      return "relp";
    case syslog_address::transport::unix_datagram:
      break;
  }
  return "unix";
}

delivery_report syslog_report(const message_sender& sender, const syslog_address& address,
                              const spooling_sender* spool) {
  delivery_report report;
  report.output = "syslog " + sender.name();
  report.transport = transport_name(address);
  report.counts = sender.counts();
  if (spool != nullptr) {
    report.spool = spool->path();
    report.from_earlier_run = spool->carried_over();
  }
  return report;
}

}  // namespace

std::string output_name(const log_sink_options& sink) {
  if (sink.kind == sink_kind::journal) return "the journal";
  if (sink.kind == sink_kind::syslog) return "syslog";
  return sink.to_stdout() ? "standard output" : "'" + sink.path + "'";
}

// One output: its file (or standard output), its logger in its format, and its adapter.
// A child's own file is written on the loop, as a rotating file is: a regular file, and a
// writer thread for each of a thousand children would be too many.
std::unique_ptr<log_outputs::output> log_outputs::open(log_sink_options spec, bool own_thread,
                                                       const log_options& log,
                                                       std::span<const program_spec> programs,
                                                       const boost::asio::any_io_executor& loop,
                                                       const environment_reader& getenv) const {
  auto out = std::make_unique<output>();
  out->name = output_name(spec);
  const log_format_kind format = spec.format.value_or(log.format);
  const bool json = format == log_format_kind::json;
  const bool raw = format == log_format_kind::raw;
  out->color =
      !json && !raw && colors_wanted(log.color, spec.to_stdout(), stdout_is_terminal_, getenv);
  spdlog::sink_ptr sink;
  if (spec.kind == sink_kind::journal) {
    socket_address journald;
    journald.host = journal_sink::socket_path;
    out->journal = std::make_shared<socket_sender>(loop, journald);
    sink = std::make_shared<journal_sink>(out->journal);
  } else if (spec.kind == sink_kind::syslog) {
    const bool relp = spec.address.via == syslog_address::transport::relp;
    if (relp) {
      out->syslog = std::make_shared<relp_sender>(loop, spec.address, spec.tls);
    } else {
      socket_sender::limits marks;
      // Spooled, a server away holds nothing back: the spool hands it a bounded amount.
      if (!spec.spool.empty()) marks.max_queued = std::numeric_limits<std::size_t>::max();
      try {
        out->syslog = std::make_shared<socket_sender>(loop, spec.address, marks, spec.tls);
      } catch (const std::runtime_error& e) {  // tls://: a file OpenSSL does not take
        throw output_open_error(
            from_origin(spec, "syslog " + socket_address_name(spec.address) + ": " + e.what()));
      }
    }
    if (!spec.spool.empty()) out->syslog = out->spool = open_spool(spec, out->syslog, loop);
    syslog_sink::delivery how;
    how.framed = spec.address.via == syslog_address::transport::tcp;  // tls:// too (RFC 5425)
    how.numbered = relp;  // at least once: a duplicate is told by its seq
    sink = std::make_shared<syslog_sink>(out->syslog, spec.facility, spec.max_message, how);
  } else if (spec.rotate != rotation_kind::none) {
    // Rotated on the writer's thread (rotating_file.hpp): renaming never holds up the loop.
    std::error_code ec;
    const std::size_t kept = spec.rotate == rotation_kind::size && spec.max_files == 0
                                 ? default_rotated_files
                                 : spec.max_files;
    out->rotation = rotating_file::open(spec.path, spec.rotate, spec.max_size, kept, ec);
    if (!out->rotation) throw output_open_error(cannot_open(spec, ec.message()));
    out->writer =
        std::make_shared<fd_writer>(out->rotation->fd(), true, fd_writer::limits{}, out->rotation);
    sink = std::make_shared<fd_sink_st>(out->writer);
  } else {
    out->fd = spec.to_stdout() ? STDOUT_FILENO : open_append(spec.path);
    if (out->fd < 0) throw output_open_error(cannot_open(spec, std::strerror(errno)));
    const bool owned = out->fd != STDOUT_FILENO;
    if (own_thread) {
      out->writer = std::make_shared<fd_writer>(out->fd, owned);
      sink = std::make_shared<fd_sink_st>(out->writer);
    } else {
      out->direct = std::make_shared<fd_sink_st>(out->fd, owned);
      sink = out->direct;
    }
  }
  out->logger = std::make_shared<spdlog::logger>("pipemux", sink);
  out->logger->set_formatter(
      json  ? make_json_formatter()
      : raw ? make_raw_formatter()
            : make_log_formatter(log_pattern(log), log_style_for(log, programs, out->color)));
  out->adapter = std::make_unique<spdlog_adapter>(out->logger, loop, identity_in::flags,
                                                  ansi_for(log, out->color, getenv));
  // JSON escapes for itself, losslessly; raw output is the bytes; the journal and syslog take
  // any bytes.
  out->adapter->pass_raw_bytes(json || raw || out->journal || out->syslog);
  out->adapter->show_as_terminal(spec.to_stdout() && spec.kind == sink_kind::file &&
                                 stdout_is_terminal_);
  out->spec = std::move(spec);
  return out;
}

log_outputs::log_outputs(const log_options& log, std::span<const program_spec> programs,
                         const boost::asio::any_io_executor& loop, const environment_reader& getenv)
    : stdout_is_terminal_(::isatty(STDOUT_FILENO) == 1), shown_(log.program_streams) {
  std::vector<log_sink_options> sinks = log.sinks;
  if (sinks.empty()) {  // standard output, unless that is the journal (a systemd service's)
    sinks.emplace_back();
    if (stdout_is_journal(getenv("JOURNAL_STREAM"))) sinks.back().kind = sink_kind::journal;
  }
  for (auto& spec : sinks)
    outputs_.push_back(open(std::move(spec), true, log, programs, loop, getenv));
  // Each child's own file, if its program has one: children count across programs, in order.
  std::size_t index = 0;
  for (const auto& program : programs) {
    const auto asked =
        std::find_if(log.program_outputs.begin(), log.program_outputs.end(),
                     [&program](const auto& entry) { return entry.first == program.name; });
    for (std::size_t instance = 0; instance < program.instances; ++instance, ++index) {
      if (asked == log.program_outputs.end()) continue;
      log_sink_options spec = asked->second;
      spec.path = child_output_path(spec.path, program.name, index, instance);
      // Children may share one (no {index} in the name): one output, written in order.
      const auto same =
          std::find_if(child_files_.begin(), child_files_.end(),
                       [&spec](const auto& out) { return out->spec.path == spec.path; });
      output* file = same != child_files_.end() ? same->get() : nullptr;
      if (file == nullptr) {
        child_files_.push_back(open(std::move(spec), false, log, programs, loop, getenv));
        file = child_files_.back().get();
      }
      file_of_child_.resize(index + 1, nullptr);
      file_of_child_[index] = file;
    }
  }
}

log_outputs::~log_outputs() = default;

bool log_outputs::coloured() const {
  return std::any_of(outputs_.begin(), outputs_.end(), [](const auto& out) { return out->color; });
}

log_outputs::output* log_outputs::file_of(const child_info& child) const {
  return child.index < file_of_child_.size() ? file_of_child_[child.index] : nullptr;
}

void log_outputs::operator()(std::span<const message> read) {
  if (shown_.shows(read.front()))
    for (const auto& out : outputs_) (*out->adapter)(read);
  if (output* file = file_of(*read.front().child)) (*file->adapter)(read);
}

// A report has one time in every output.
void log_outputs::operator()(const child_event& e, log_clock::time_point now) {
  for (const auto& out : outputs_) (*out->adapter)(e, now);
  if (output* file = file_of(*e.child)) (*file->adapter)(e, now);
}

void log_outputs::operator()(const run_summary& s) {
  const auto now = log_clock::now();
  for (const auto& out : outputs_) (*out->adapter)(s, now);
  for (const auto& file : child_files_) {  // the summaries of the children it is the file of
    run_summary own;
    for (const auto& child : s.children)
      if (file_of(child.child) == file.get()) own.children.push_back(child);
    (*file->adapter)(own, now);
  }
}

void log_outputs::note(spdlog::level::level_enum level, std::string_view text) {
  const auto now = log_clock::now();
  for (const auto& out : outputs_) out->adapter->note(level, text, now);
}

void log_outputs::on_backlog(const std::function<void()>& handler) {
  for (const auto& out : outputs_) {
    if (out->writer) out->writer->on_backlog([handler](bool) { handler(); });
    if (out->journal) out->journal->on_backlog(handler);
    if (out->syslog) out->syslog->on_backlog(handler);
  }
}

void log_outputs::on_error(std::function<void(output_failure)> handler) {
  // The first failure of all, whichever thread it comes from.
  auto reported = std::make_shared<std::atomic<bool>>(false);
  auto report = [handler = std::move(handler), reported](output_failure failure) {
    if (!reported->exchange(true)) handler(std::move(failure));
  };
  for (output* out : every_output()) {
    if (out->writer)
      out->writer->on_error([report, name = out->name, to_stdout = out->spec.to_stdout(),
                             rotation = out->rotation](std::error_code ec) {
        // A rotation that failed says which rename or open.
        report({ec, name, to_stdout, rotation ? rotation->last_problem() : std::string()});
      });
    else if (out->journal)  // buffered, then dropped and counted: journald may be restarting
      out->journal->on_dropping([](const std::string& why) {
        std::cerr << "pipemux: warning: the journal (" << journal_sink::socket_path
                  << "): dropping entries: " << why << " (the count comes at the end)\n";
      });
    else if (out->syslog)
      watch_syslog(*out->syslog, out->spool != nullptr);
    else if (out->direct)
      out->direct->on_write_error([report, name = out->name](std::error_code ec) {
        report({ec, name, false, {}});
      });
  }
}

std::vector<log_outputs::output*> log_outputs::every_output() const {
  std::vector<output*> all;
  for (const auto& out : outputs_) all.push_back(out.get());
  for (const auto& file : child_files_) all.push_back(file.get());
  return all;
}

bool log_outputs::backlogged() const {
  for (const auto& out : outputs_)
    if ((out->writer && out->writer->backlogged()) ||
        (out->journal && out->journal->backlogged()) || (out->syslog && out->syslog->backlogged()))
      return true;
  return false;
}

bool log_outputs::lost_anything() const {
  return std::any_of(outputs_.begin(), outputs_.end(), [](const auto& out) {
    return (out->journal && out->journal->dropped() > 0) ||
           (out->syslog && (out->syslog->dropped() > 0 || out->syslog->possibly_lost() > 0));
  });
}

void log_outputs::abandon() {
  for (const auto& out : outputs_) {
    if (out->writer) out->writer->abandon();
    // Counted in messages, said at close().
    if (out->journal) out->journal->abandon();
    if (out->syslog) out->syslog->abandon();
  }
}

std::size_t log_outputs::dropped_bytes() const {
  std::size_t dropped = 0;
  for (const auto& out : outputs_)
    if (out->writer) dropped += out->writer->dropped();
  return dropped;
}

void log_outputs::close(std::function<void()> done) {
  // `done` once every writer has written all it has queued; spdlog's files are flushed here.
  auto pending = std::make_shared<std::atomic<std::size_t>>(1);
  auto one_done = [pending, done = std::move(done)] {
    if (pending->fetch_sub(1) == 1) done();
  };
  for (output* out : every_output()) {
    out->logger->flush();
    if (out->writer) {
      pending->fetch_add(1);
      out->writer->close(one_done);
    }
    if (out->journal) {
      pending->fetch_add(1);
      out->journal->close([sender = out->journal, one_done] {
        if (sender->dropped() > 0)
          std::cerr << "pipemux: " << sender->dropped()
                    << " log entries could not be sent to the journal\n";
        one_done();
      });
    }
    if (out->syslog) {
      pending->fetch_add(1);
      out->syslog->close(
          [sender = out->syslog, spool = out->spool, one_done, address = out->spec.address] {
            const auto via = address.via;
            const bool relp = via == syslog_address::transport::relp;
            if (sender->dropped() > 0)
              std::cerr << "pipemux: " << sender->dropped() << " log messages could not be sent to "
                        << "syslog " << sender->name() << "\n";
            if (sender->possibly_lost() > 0)
              std::cerr << "pipemux: " << sender->possibly_lost()
                        << " log messages may have been lost by syslog " << sender->name()
                        << (relp ? " (sent, and not acknowledged when pipemux ended)\n"
                                 : " (its TCP acknowledged them; then the connection ended)\n");
            if (spool && spool->spooled() > 0)
              std::cerr << "pipemux: syslog " << sender->name() << ": " << spool->spooled()
                        << " messages not delivered stay in " << spool->path()
                        << "; the next run with this spool sends them first\n";
            // The report: for a server over the network or a spool always, for /dev/log if it
            // lost any.
            const delivery_report report = syslog_report(*sender, address, spool.get());
            if (via != syslog_address::transport::unix_datagram || spool || report.troubled())
              std::cerr << "pipemux: delivered: " << describe(report) << "\n";
            one_done();
          });
    }
  }
  one_done();
}

std::vector<delivery_report> log_outputs::deliveries() const {
  std::vector<delivery_report> all;
  for (const auto& out : outputs_) {
    if (out->journal) {
      delivery_report report;
      report.output = "the journal";
      report.transport = "unix";
      report.counts = out->journal->counts();
      all.push_back(std::move(report));
    } else if (out->syslog)
      all.push_back(syslog_report(*out->syslog, out->spec.address, out->spool.get()));
  }
  return all;
}

std::vector<std::string> log_outputs::reopen() {
  std::vector<std::string> problems;
  for (output* out : every_output()) {
    if (out->spec.to_stdout() || out->journal || out->syslog) continue;
    out->logger->flush();
    if (out->rotation) {
      if (const std::error_code ec = out->rotation->reopen())
        problems.push_back(cannot_open(out->spec, ec.message()));
      continue;
    }
    // The new file takes the old one's descriptor number: the writer's thread goes on
    // writing to "its" fd, and a write(2) already under way ends in the old file.
    const int fresh = open_append(out->spec.path);
    if (fresh < 0 || ::dup3(fresh, out->fd, O_CLOEXEC) < 0)
      problems.push_back(cannot_open(out->spec, std::strerror(errno)));
    if (fresh >= 0) ::close(fresh);
  }
  return problems;
}

}  // namespace pipemux
