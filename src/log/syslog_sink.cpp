#include "pipemux/syslog_sink.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>

#include "log/log_context.hpp"
#include "log/message_pieces.hpp"
#include "log/syslog_message.hpp"

namespace pipemux {
namespace {
// At least this much of a line in each piece, whatever the header takes (a 255-byte hostname
// and max_message's least, 480, leave more).
constexpr std::size_t min_piece = 16;
}  // namespace

syslog_sink::syslog_sink(std::shared_ptr<message_sender> sender, int facility,
                         std::size_t max_message, delivery how)
    : sender_(std::move(sender)),
      facility_(facility),
      max_message_(max_message),
      how_(how),
      hostname_(syslog_hostname()) {}

std::uint64_t syslog_sink::next_sequence(const child_info* child) {
  if (child == nullptr) return ++own_sequence_;
  if (child->index >= sequences_.size()) sequences_.resize(child->index + 1, 0);
  return ++sequences_[child->index];
}

void syslog_sink::sink_it_(const spdlog::details::log_msg& msg) {
  const detail::log_context& ctx = detail::current_log_context();
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  const std::string_view msgid = rfc5424_msgid(ctx);
  // The room is what the longest header leaves: numbered, the one a 20-digit seq would have.
  const std::optional<std::uint64_t> widest =
      how_.numbered ? std::optional(std::numeric_limits<std::uint64_t>::max()) : std::nullopt;
  header_.clear();
  append_rfc5424_header(header_, msg, facility_, hostname_, msgid, widest);
  std::size_t room = max_message_ > header_.size() ? max_message_ - header_.size() : 0;
  if (payload.size() > room) {  // in pieces, each marked but the last
    piece_header_.clear();
    append_rfc5424_header(piece_header_, msg, facility_, hostname_, "piece", widest);
    const std::size_t longest = std::max(header_.size(), piece_header_.size());
    room = std::max(min_piece, max_message_ > longest ? max_message_ - longest : 0);
  }
  for_each_piece(payload, room, [&](std::string_view piece, bool last) {
    const std::string* header = last ? &header_ : &piece_header_;
    if (how_.numbered) {
      numbered_header_.clear();
      append_rfc5424_header(numbered_header_, msg, facility_, hostname_, last ? msgid : "piece",
                            next_sequence(ctx.child));
      header = &numbered_header_;
    }
    const std::size_t size = header->size() + piece.size();
    std::string message;
    if (how_.framed) message = std::to_string(size) + ' ';
    message.reserve(message.size() + size);
    message += *header;
    message += piece;
    sender_->send(std::move(message));
  });
}

}  // namespace pipemux
