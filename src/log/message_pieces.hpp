// A message too long for where it goes (a syslog server's maximum message size, a journal
// entry's datagram), cut into pieces that fit, as the text log cuts a line over max_line: each
// piece but the last is marked as a piece; together they are the message.
#pragma once

#include <cstddef>
#include <string_view>

namespace pipemux {

/// Calls `each(piece, last)` for the pieces of `text`, in order, each at most `max` bytes
/// (`max` >= 4), never cutting inside a UTF-8 sequence when the bytes before the cut are one
/// (invalid UTF-8 is cut where it falls). Text that fits is one piece, empty text too.
template <typename Each>
void for_each_piece(std::string_view text, std::size_t max, Each&& each) {
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  while (text.size() > max) {
    // Back to the sequence's first byte (at most 3 back), if the cut falls inside one.
    std::size_t cut = max;
    while (cut > max - 3 && continuation(text[cut])) --cut;
    if (continuation(text[cut]) || (static_cast<unsigned char>(text[cut]) & 0xC0) != 0xC0)
      cut = max;
    each(text.substr(0, cut), false);
    text.remove_prefix(cut);
  }
  each(text, true);
}

}  // namespace pipemux
