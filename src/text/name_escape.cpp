#include "pipemux/name_escape.hpp"

#include "pipemux/escape.hpp"
#include "text/bidi_control.hpp"

namespace pipemux {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

bool holds_bidi_control(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i)
    if (detail::bidi_control_at(text, i).length != 0) return true;
  return false;
}

}  // namespace

bool name_needs_escape(std::string_view name) noexcept {
  return needs_escape(name) || holds_bidi_control(name);
}

void escape_name_into(std::string_view name, std::string& out) {
  std::size_t done = 0;  // name before this is in `out`
  for (std::size_t i = 0; i < name.size(); ++i) {
    const detail::bidi_control control = detail::bidi_control_at(name, i);
    if (control.length == 0) continue;
    escape_into(name.substr(done, i - done), out);
    for (std::size_t k = 0; k < control.length; ++k) {
      const auto byte = static_cast<unsigned char>(name[i + k]);
      out += "\\x";
      out += hex_digits[byte >> 4];
      out += hex_digits[byte & 0xF];
    }
    i += control.length - 1;
    done = i + 1;
  }
  escape_into(name.substr(done), out);
}

}  // namespace pipemux
