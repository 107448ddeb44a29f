// Splits the bytes read from a pipe into the messages pipemux logs.
// Pure logic, no I/O: the pipe reader feeds it whatever each read returned.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace pipemux {

/// What a delivered piece of output is. Joining the pieces of one stream, with a '\n' after
/// each `line`, gives back exactly the bytes the child wrote.
enum class piece_kind : unsigned char {
  line,       ///< a whole line, its '\n' removed
  continued,  ///< max_line bytes of a longer line; the line goes on in the next piece
  partial,    ///< the stream ended before this last line got its '\n'
  chunk,      ///< raw framing: exactly what one read returned
};

/// Line framing with a bounded carry-over. A line split across reads is joined, several lines
/// in one read are delivered one by one, and a line longer than max_line is delivered in
/// max_line pieces: never dropped, never buffered without bound. Only a line that straddles
/// reads is copied; every other piece is a view into the caller's buffer.
class line_framer {
 public:
  explicit line_framer(std::size_t max_line) : max_line_(max_line == 0 ? 1 : max_line) {}

  /// Frames one read. `deliver(std::string_view, piece_kind)` is called once per piece; a view
  /// is valid only during that call.
  template <class Deliver>
  void feed(std::string_view data, Deliver&& deliver) {
    while (!data.empty()) {
      const void* nl = std::memchr(data.data(), '\n', data.size());
      const bool terminated = nl != nullptr;
      const std::size_t length =
          terminated ? static_cast<std::size_t>(static_cast<const char*>(nl) - data.data())
                     : data.size();
      append_segment(data.substr(0, length), terminated, deliver);
      data.remove_prefix(terminated ? length + 1 : length);
    }
  }

  /// Ends the stream: a last line without its '\n' is delivered as `partial`.
  template <class Deliver>
  void finish(Deliver&& deliver) {
    if (!pending_.empty()) {
      deliver(std::string_view(pending_), piece_kind::partial);
      pending_.clear();
    }
  }

  /// Bytes held back waiting for the rest of their line (never more than max_line).
  std::size_t pending_size() const noexcept { return pending_.size(); }
  std::size_t max_line() const noexcept { return max_line_; }

 private:
  template <class Deliver>
  void append_segment(std::string_view segment, bool terminated, Deliver& deliver) {
    if (!pending_.empty()) {
      const std::size_t room = max_line_ - pending_.size();
      if (segment.size() <= room) {
        pending_.append(segment);
        if (terminated) {
          deliver(std::string_view(pending_), piece_kind::line);
          pending_.clear();
        }
        return;
      }
      pending_.append(segment.substr(0, room));
      deliver(std::string_view(pending_), piece_kind::continued);
      pending_.clear();
      segment.remove_prefix(room);
    }
    while (segment.size() > max_line_) {
      deliver(segment.substr(0, max_line_), piece_kind::continued);
      segment.remove_prefix(max_line_);
    }
    if (terminated)
      deliver(segment, piece_kind::line);
    else
      pending_.assign(segment);
  }

  std::size_t max_line_;
  std::string pending_;
};

}  // namespace pipemux
