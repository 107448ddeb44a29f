// Where the log goes and how it looks: the options of the log layer (log_outputs.hpp and its
// sinks), set by the config file (config.hpp) and the command line, or by an embedding service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipemux/escape.hpp"
#include "pipemux/named.hpp"

namespace pipemux {

/// Whether the log is coloured (see README, "Colours"): auto follows NO_COLOR, FORCE_COLOR,
/// CLICOLOR_FORCE and whether standard output is a terminal.
enum class color_choice : unsigned char { automatic, always, never };
inline constexpr named<color_choice> color_names[] = {{"auto", color_choice::automatic},
                                                      {"always", color_choice::always},
                                                      {"never", color_choice::never}};

/// What a log line is: text for people (a pattern), or a JSON object for a collector.
/// text: a line per message for people; json: an object per line for a collector; raw: the
/// children's bytes as written, nothing of pipemux's (raw_format.hpp).
enum class log_format_kind : unsigned char { text, json, raw };
inline constexpr named<log_format_kind> log_format_names[] = {{"text", log_format_kind::text},
                                                              {"json", log_format_kind::json},
                                                              {"raw", log_format_kind::raw}};

/// How a log file rotates (rotating_file.hpp: spdlog's names and rules, on the writer's
/// thread), between two lines: a line is never split and none is lost.
enum class rotation_kind : unsigned char { none, size, daily, hourly };
inline constexpr named<rotation_kind> rotation_names[] = {{"none", rotation_kind::none},
                                                          {"size", rotation_kind::size},
                                                          {"daily", rotation_kind::daily},
                                                          {"hourly", rotation_kind::hourly}};

/// What a sink writes to: a file (or standard output), the systemd journal, or syslog.
enum class sink_kind : unsigned char { file, journal, syslog };
inline constexpr named<sink_kind> sink_kind_names[] = {
    {"file", sink_kind::file}, {"journal", sink_kind::journal}, {"syslog", sink_kind::syslog}};

/// Where syslog messages go: a local datagram socket (/dev/log), or a server over UDP, TCP or
/// RELP (rsyslog's Reliable Event Logging Protocol: each message acknowledged by the server).
struct syslog_address {
  enum class transport : unsigned char { unix_datagram, udp, tcp, relp };
  transport via = transport::unix_datagram;
  std::string host = "/dev/log";  ///< or the socket's path
  std::uint16_t port = 0;
  bool tls = false;  ///< tcp: TLS over the connection (tls://, RFC 5425)
};

/// "local" (/dev/log), "unix:/run/x.sock" or "/run/x.sock", "udp://host[:port]",
/// "tcp://host[:port]" (port 514 unless given), "tls://host[:port]" (TCP with TLS, port 6514
/// unless given), "relp://host[:port]" (port 2514 unless given);
/// an IPv6 host in brackets, a zone after '%'.
/// Nullopt when it is none of these, or could never be reached: a host that is no DNS name and
/// no IP address, a socket's path too long for a socket address.
std::optional<syslog_address> parse_syslog_address(std::string_view text);

/// What is wrong with `text` as a syslog address, in a few words for an error message
/// ("'@' in the host ..."); empty when parse_syslog_address takes it.
std::string syslog_address_problem(std::string_view text);

/// The longest syslog message sent by default, the header included: rsyslog's maxMessageSize
/// (8096 bytes: rsyslog cuts a longer one). A longer line goes in pieces that fit.
inline constexpr std::size_t default_syslog_max_message = 8096;
/// RFC 5424: every receiver takes messages of 480 bytes.
inline constexpr std::size_t min_syslog_max_message = 480;
/// One UDP datagram's payload at most (a local socket's datagrams are held to it too).
inline constexpr std::size_t max_syslog_datagram = 65507;
/// A longer message over TCP or RELP: pipemux's longest line (limits::max_line), 16 MiB.
inline constexpr std::size_t max_syslog_stream_message = std::size_t{1} << 24;

/// The port a syslog server listens on unless told: 514 (UDP, TCP); 2514 for RELP, which has
/// no assigned port (rsyslog's documentation uses 2514).
inline constexpr std::uint16_t default_syslog_port = 514;
inline constexpr std::uint16_t default_relp_port = 2514;
inline constexpr std::uint16_t default_syslog_tls_port = 6514;  ///< RFC 5425

/// What is wrong with `bytes` as the longest message to send to `address` (from 480 bytes to
/// one datagram, or 16 MiB over TCP or RELP), for an error message; empty when it is fine.
std::string syslog_max_message_problem(const syslog_address& address, std::uint64_t bytes);

/// A syslog sink's disk spool holds this much unless told (`spool_max`).
inline constexpr std::uint64_t default_spool_max = std::uint64_t{1} << 30;
/// A spool smaller than this would hardly hold one batch of a busy run.
inline constexpr std::uint64_t min_spool_max = std::uint64_t{1} << 20;

/// TLS for a syslog sink over RELP (PEM files): on when `ca` is set. The server's certificate
/// must be signed by that CA and name the address's host (a DNS name in its subjectAltName, or
/// its CN); `cert` and `key`, both or neither, are the client's, for a server that asks for one.
struct syslog_tls_files {
  std::string ca, cert, key;
  bool on() const noexcept { return !ca.empty() || !cert.empty() || !key.empty(); }
};

/// What is wrong with `tls` for a sink to `address`, in a few words for an error message
/// (TLS for an address that is not relp://, a certificate without its key, a file that cannot
/// be read); empty when it is fine.
std::string syslog_tls_problem(const syslog_address& address, const syslog_tls_files& tls);

/// syslog facilities by name: kern ... local7.
inline constexpr named<int> syslog_facility_names[] = {
    {"kern", 0},      {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},
    {"syslog", 5},    {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},
    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17}, {"local2", 18},
    {"local3", 19},   {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};

/// One place the log goes, in a format of its own (`-o [FORMAT:]PATH`, --journal,
/// [[log.sink]]).
struct log_sink_options {
  sink_kind kind = sink_kind::file;
  std::string path;                       ///< "-" (or empty): standard output; else a file
  std::optional<log_format_kind> format;  ///< unset: log.format
  rotation_kind rotate = rotation_kind::none;
  std::uint64_t max_size = 0;  ///< rotate = size: a new file before this many bytes are passed
  std::size_t max_files = 0;   ///< rotated files kept; 0: 5 for size, all for daily/hourly
  syslog_address address;      ///< kind = syslog
  int facility = 1;            ///< kind = syslog: user, as logger(1) sends
  std::size_t max_message = default_syslog_max_message;  ///< kind = syslog: longer is cut
  syslog_tls_files tls;                                  ///< kind = syslog over RELP: TLS
  /// kind = syslog: a directory for a disk spool (spooling_sender.hpp); empty: none.
  std::string spool;
  std::uint64_t spool_max = default_spool_max;  ///< the spool's bytes at most: then backpressure
  /// Where it was set, for errors: "pipemux.toml:4:10: log.output", "--output".
  std::string origin;

  bool to_stdout() const noexcept {
    return kind == sink_kind::file && (path.empty() || path == "-");
  }
};

/// Which time the built-in pattern starts with.
enum class timestamp_style : unsigned char { absolute, relative, none };
inline constexpr named<timestamp_style> timestamp_names[] = {
    {"absolute", timestamp_style::absolute},
    {"relative", timestamp_style::relative},
    {"none", timestamp_style::none}};

inline constexpr named<ansi_mode> ansi_names[] = {
    {"keep", ansi_mode::keep}, {"strip", ansi_mode::strip}, {"escape", ansi_mode::escape}};

/// A program's label colour: the name and its SGR foreground code. Red is left out: it
/// marks errors.
inline constexpr named<std::uint8_t> label_color_names[] = {
    {"black", 30},        {"green", 32},         {"yellow", 33},      {"blue", 34},
    {"magenta", 35},      {"cyan", 36},          {"white", 37},       {"gray", 90},
    {"bright_green", 92}, {"bright_yellow", 93}, {"bright_blue", 94}, {"bright_magenta", 95},
    {"bright_cyan", 96},  {"bright_white", 97}};

/// Which of a program's streams are logged (its start and exit reports always are).
enum class shown_streams : unsigned char { both, out, err, none };
inline constexpr named<shown_streams> shown_stream_names[] = {{"both", shown_streams::both},
                                                              {"out", shown_streams::out},
                                                              {"err", shown_streams::err},
                                                              {"none", shown_streams::none}};

struct log_options {
  log_format_kind format = log_format_kind::text;  ///< json: one object per line, no pattern
  std::string pattern;  ///< spdlog pattern with pipemux's flags; empty: as `timestamps` says
  timestamp_style timestamps = timestamp_style::absolute;  ///< picks a built-in pattern
  color_choice color = color_choice::automatic;
  std::optional<ansi_mode> ansi;  ///< a child's own colours; unset: keep if coloured, else escape
  bool force_color_children = true;  ///< when coloured, children get FORCE_COLOR=1 unless set
  /// Program name -> SGR code of its label colour ([[program]] `color`); others: a palette.
  std::vector<std::pair<std::string, std::uint8_t>> program_colors;
  /// Program name -> the streams logged ([[program]] `log_streams`, --hide); others: both.
  std::vector<std::pair<std::string, shown_streams>> program_streams;
  /// Program name -> its [[program]] `output`: a file for each child ("logs/{name}.{index}.log")
  /// that gets all its lines and reports, whatever `program_streams` says of the run's log.
  std::vector<std::pair<std::string, log_sink_options>> program_outputs;
  /// Where the log goes, each in its format; empty: standard output alone. `log.output` is
  /// one sink; -o, once or more, replaces the file's.
  std::vector<log_sink_options> sinks;
};

/// A child's own log file: `path` with {name}, {index} and {instance} replaced by the child's.
/// Throws std::invalid_argument for any other {...} (and for a lone brace).
std::string child_output_path(std::string_view path, std::string_view name, std::size_t index,
                              std::size_t instance);

}  // namespace pipemux
