#include "pipemux/escape.hpp"

#include "text/plain_text.hpp"
#include "text/utf8.hpp"

#include <cstdint>

namespace pipemux {
namespace {

// Length of the well-formed UTF-8 sequence starting at `p`, or 0 when there is none. C1
// controls (U+0080..U+009F) count as not well-formed here: some terminals act on them, so they
// are escaped like C0 controls.
std::size_t printable_utf8_length(const unsigned char* p, std::size_t n) noexcept {
  if (p[0] == 0xC2 && n > 1 && p[1] < 0xA0) return 0;
  return detail::utf8_sequence_length(p, n);
}

bool is_plain_ascii(unsigned char c) noexcept {
  return c >= 0x20 && c < 0x7F && c != '\\';
}

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Length of the CSI sequence that `text` starts with when it cannot move the cursor out of
// its place in the line, or 0: SGR (ESC [ ... m, colours and attributes), EL to the end of
// the line (ESC [ K, ESC [ 0 K: grep and gcc send it after a coloured match) and ECH (ESC [ n X,
// erase n characters from the cursor on). Everything else (cursor moves, erasing the line's
// start or the screen, OSC titles) could overwrite the label or other lines: escaped.
std::size_t line_safe_csi_length(std::string_view text) noexcept {
  if (text.size() < 3 || text[0] != '\x1b' || text[1] != '[') return 0;
  for (std::size_t i = 2; i < text.size(); ++i) {
    const char c = text[i];
    const std::string_view parameters = text.substr(2, i - 2);
    if (c == 'm') return i + 1;
    if (c == 'K') return parameters.empty() || parameters == "0" ? i + 1 : 0;
    if (c == 'X') return parameters.find_first_of(";:") == std::string_view::npos ? i + 1 : 0;
    if ((c < '0' || c > '9') && c != ';' && c != ':') return 0;
  }
  return 0;
}

// Whether the SGR sequence `sgr` turns every attribute off: ESC "[m" or ESC "[0m".
bool is_reset(std::string_view sgr) noexcept {
  return sgr == "\x1b[m" || sgr == "\x1b[0m";
}

}  // namespace

bool needs_escape(std::string_view text) noexcept {
  if (detail::plain_ascii_newlines(text) == std::optional<std::size_t>(0)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    if (is_plain_ascii(p[i])) {
      ++i;
      continue;
    }
    if (p[i] < 0x80) return true;
    const std::size_t len = printable_utf8_length(p + i, n - i);
    if (len == 0) return true;
    i += len;
  }
  return false;
}

void escape_into(std::string_view text, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  out.reserve(out.size() + n + n / 8);
  // Written a block at a time: one append per 4 KiB, not one per escape.
  char block[4096];
  char* w = block;
  char* const full = block + sizeof block - 4;  // room left for the longest form, "\\xHH"
  for (std::size_t i = 0; i < n;) {
    if (w >= full) {
      out.append(block, static_cast<std::size_t>(w - block));
      w = block;
    }
    const unsigned char c = p[i];
    if (is_plain_ascii(c)) {
      *w++ = static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t len = printable_utf8_length(p + i, n - i); len != 0) {
        for (std::size_t k = 0; k < len; ++k) *w++ = static_cast<char>(p[i + k]);
        i += len;
        continue;
      }
    }
    *w++ = '\\';
    switch (c) {
      case '\\':
        *w++ = '\\';
        break;
      case '\t':
        *w++ = 't';
        break;
      case '\n':
        *w++ = 'n';
        break;
      case '\r':
        *w++ = 'r';
        break;
      default:
        *w++ = 'x';
        *w++ = hex_digits[c >> 4];
        *w++ = hex_digits[c & 0xF];
    }
    ++i;
  }
  out.append(block, static_cast<std::size_t>(w - block));
}

void escape_into(std::string_view text, std::string& out, ansi_mode ansi) {
  if (ansi == ansi_mode::escape) return escape_into(text, out);
  bool colour_left_on = false;
  std::size_t done = 0;  // text before this is in `out`
  std::size_t esc = text.find('\x1b');
  while (esc != std::string_view::npos) {
    const std::size_t length = line_safe_csi_length(text.substr(esc));
    if (length == 0) {  // another escape sequence: escaped with what follows
      esc = text.find('\x1b', esc + 1);
      continue;
    }
    escape_into(text.substr(done, esc - done), out);
    if (ansi == ansi_mode::keep) {
      const std::string_view sequence = text.substr(esc, length);
      out.append(sequence);
      if (sequence.back() == 'm') colour_left_on = !is_reset(sequence);
    }
    done = esc + length;
    esc = text.find('\x1b', done);
  }
  escape_into(text.substr(done), out);
  if (colour_left_on) out.append("\x1b[0m");  // the next line's prefix starts plain
}

std::optional<std::string> unescape(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == escaped.size()) return std::nullopt;
    switch (escaped[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'x': {
        if (i + 2 >= escaped.size()) return std::nullopt;
        const int hi = hex_value(escaped[i + 1]);
        const int lo = hex_value(escaped[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

}  // namespace pipemux
