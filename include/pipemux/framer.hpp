// Splits the bytes read from a pipe into the messages pipemux logs.
// Pure logic, no I/O: the pipe reader feeds it whatever each read returned.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
    if (!pending_.empty() && !data.empty()) {  // first the end of a line begun earlier
      const std::size_t length = std::min(data.find('\n'), data.size());
      const bool terminated = length < data.size();
      append_segment(data.substr(0, length), terminated, deliver);
      data.remove_prefix(terminated ? length + 1 : length);
      if (!terminated) return;
    }
    if (data.empty()) return;
    // Then whole lines in place. Newlines are found 16 bytes at a time: for short lines a call
    // to memchr per line cost more than the line's scan (8% of the CLI's time at 7 bytes).
    const char* start = data.data();  // of the line being looked at
    const char* scanned = start;
    const char* const end = start + data.size();
#if defined(__SSE2__)
    for (; end - scanned >= 16; scanned += 16) {
      __m128i block;
      std::memcpy(&block, scanned, sizeof block);
      auto newlines =
          static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, _mm_set1_epi8('\n'))));
      for (; newlines != 0; newlines &= newlines - 1) {
        const char* nl = scanned + __builtin_ctz(newlines);
        deliver_whole(std::string_view(start, static_cast<std::size_t>(nl - start)), deliver);
        start = nl + 1;
      }
    }
#endif
    while (const void* found =
               std::memchr(scanned, '\n', static_cast<std::size_t>(end - scanned))) {
      const char* nl = static_cast<const char*>(found);
      deliver_whole(std::string_view(start, static_cast<std::size_t>(nl - start)), deliver);
      start = scanned = nl + 1;
    }
    append_segment(std::string_view(start, static_cast<std::size_t>(end - start)), false, deliver);
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
  std::size_t pending_size() const noexcept {
    return pending_.size();
  }
  std::size_t max_line() const noexcept {
    return max_line_;
  }

 private:
  // A line whose start is in this read (nothing pending).
  template <class Deliver>
  void deliver_whole(std::string_view line, Deliver& deliver) {
    if (line.size() <= max_line_)
      deliver(line, piece_kind::line);
    else
      append_segment(line, true, deliver);
  }

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
