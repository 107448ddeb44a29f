#include "pipemux/env_file.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "config/text_file.hpp"
#include "pipemux/config_error.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux {
namespace {

// The length in bytes of the whitespace character at `at`, as Python's `\s` sees it (its
// Unicode set, in UTF-8), or 0.
std::size_t space_at(std::string_view text, std::size_t at) {
  if (at >= text.size()) return 0;
  const auto byte = [&](std::size_t i) -> unsigned char {
    return at + i < text.size() ? static_cast<unsigned char>(text[at + i]) : 0;
  };
  const unsigned char c = byte(0);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  if (c == 0xC2 && (byte(1) == 0x85 || byte(1) == 0xA0)) return 2;  // U+0085, U+00A0
  if (c == 0xE1 && byte(1) == 0x9A && byte(2) == 0x80) return 3;    // U+1680
  if (c == 0xE2 && byte(1) == 0x80 &&
      (byte(2) <= 0x8A || byte(2) == 0xA8 || byte(2) == 0xA9 || byte(2) == 0xAF))
    return 3;                                                     // U+2000-200A, 2028, 2029, 202F
  if (c == 0xE2 && byte(1) == 0x81 && byte(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && byte(1) == 0x80 && byte(2) == 0x80) return 3;  // U+3000
  return 0;
}

// Whitespace that does not end a line (Python's `[^\S\r\n]`).
std::size_t inline_space_at(std::string_view text, std::size_t at) {
  return at < text.size() && text[at] == '\n' ? 0 : space_at(text, at);
}

// Where `text` stops being UTF-8 (Python reads a .env file as UTF-8, or not at all), or npos.
std::size_t invalid_utf8_at(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char lead = p[i];
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the second byte's range (Unicode table 3-7)
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if (lead >= 0xC2 && lead <= 0xDF)
      length = 2;
    else if (lead == 0xE0)
      length = 3, low = 0xA0;
    else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF)
      length = 3;
    else if (lead == 0xED)
      length = 3, high = 0x9F;
    else if (lead == 0xF0)
      length = 4, low = 0x90;
    else if (lead >= 0xF1 && lead <= 0xF3)
      length = 4;
    else if (lead == 0xF4)
      length = 4, high = 0x8F;
    else
      return i;
    if (i + length > n || p[i + 1] < low || p[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    i += length;
  }
  return std::string_view::npos;
}

// Python reads text with universal newlines: "\r\n" and "\r" become "\n".
std::string with_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') {
      out += text[i];
      continue;
    }
    out += '\n';
    if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
  }
  return out;
}

class env_parser {
 public:
  env_parser(std::string text, const std::string& source)
      : text_(std::move(text)), source_(source) {}

  struct binding {
    std::string key;
    std::optional<std::string> value;  // nullopt: a key alone, which sets nothing
    std::size_t key_at;
  };

  std::vector<binding> parse() {
    if (const auto nul = text_.find('\0'); nul != std::string::npos)
      fail(nul, "a NUL byte: not a .env file");
    if (const auto bad = invalid_utf8_at(text_); bad != std::string::npos)
      fail(bad, "not UTF-8 text");
    std::vector<binding> out;
    while (at_ < text_.size()) {
      while (const std::size_t n = space_at(text_, at_)) at_ += n;
      if (at_ == text_.size()) break;
      skip_export();
      const std::size_t key_at = at_;
      std::optional<std::string> key = parse_key();
      skip_inline_space();
      std::optional<std::string> value;
      if (peek() == '=') {
        ++at_;
        skip_inline_space();
        value = parse_value();
      }
      skip_comment();
      skip_inline_space();
      if (at_ < text_.size() && text_[at_] != '\n')
        fail(at_, std::string(value ? "expected a line end after the value" : "expected '='") +
                      ", got '" + escaped(text_.substr(at_, 1)) + "'");
      if (at_ < text_.size()) ++at_;
      // A key alone sets nothing, so only a key with a value must be one an environment holds
      // (os.environ refuses it too).
      if (key && value && key->find('=') != std::string::npos)
        fail(key_at,
             "'" + escaped(*key) + "' holds '=': not a variable name an environment can hold");
      if (key) out.push_back({std::move(*key), std::move(value), key_at});
    }
    return out;
  }

  [[noreturn]] void fail(std::size_t offset, const std::string& problem) const {
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < offset && i < text_.size(); ++i)
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    throw config_error(source_, line, offset - line_start + 1, "", problem);
  }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }

  void skip_inline_space() {
    while (const std::size_t n = inline_space_at(text_, at_)) at_ += n;
  }

  void skip_export() {
    const std::string_view rest = std::string_view(text_).substr(at_);
    if (rest.substr(0, 6) != "export" || inline_space_at(text_, at_ + 6) == 0) return;
    at_ += 6;
    skip_inline_space();
  }

  void skip_comment() {
    std::size_t i = at_;
    while (const std::size_t n = inline_space_at(text_, i)) i += n;
    if (i >= text_.size() || text_[i] != '#') return;
    at_ = text_.find('\n', i);
    if (at_ == std::string::npos) at_ = text_.size();
  }

  std::optional<std::string> parse_key() {
    const char first = peek();
    if (first == '#') return std::nullopt;  // a comment line
    if (first == '\'') {
      const std::size_t close = text_.find('\'', at_ + 1);
      if (close == std::string::npos || close == at_ + 1)
        fail(at_, "a key in quotes must be one or more characters closed by a quote");
      std::string key = text_.substr(at_ + 1, close - at_ - 1);
      at_ = close + 1;
      return key;
    }
    const std::size_t start = at_;
    while (at_ < text_.size() && text_[at_] != '=' && text_[at_] != '#' &&
           space_at(text_, at_) == 0)
      ++at_;
    if (at_ == start)
      fail(at_, "expected a variable name, got '" + escaped(text_.substr(at_, 1)) + "'");
    return text_.substr(start, at_ - start);
  }

  std::string parse_value() {
    const char first = peek();
    if (first == '\'' || first == '"') return parse_quoted(first);
    const std::size_t end = std::min(text_.find('\n', at_), text_.size());
    std::string_view part = std::string_view(text_).substr(at_, end - at_);
    at_ = end;
    // Python: re.sub(r"\s+#.*", "", part).rstrip()
    for (std::size_t i = 0; i < part.size();) {
      const std::size_t n = space_at(part, i);
      if (n == 0) {
        ++i;
        continue;
      }
      const std::size_t run = i;
      while (const std::size_t m = space_at(part, i)) i += m;
      if (i < part.size() && part[i] == '#') {
        part = part.substr(0, run);
        break;
      }
    }
    return std::string(rstrip(part));
  }

  static std::string_view rstrip(std::string_view text) {
    while (!text.empty()) {
      // Whitespace is at most 3 bytes long: look for one that ends exactly at the end.
      std::size_t cut = 0;
      for (std::size_t len = 1; len <= 3 && len <= text.size() && cut == 0; ++len)
        if (space_at(text, text.size() - len) == len) cut = len;
      if (cut == 0) break;
      text.remove_suffix(cut);
    }
    return text;
  }

  // Python's '((?:\\'|[^'])*)': a backslash and a quote are taken together; with no lone quote
  // to close the value, the regex backtracks to the quote of the last such pair.
  std::string parse_quoted(char quote) {
    const std::size_t open = at_;
    std::size_t close = std::string::npos, last_pair_quote = std::string::npos;
    for (std::size_t i = open + 1; i < text_.size();) {
      if (text_[i] == '\\' && i + 1 < text_.size() && text_[i + 1] == quote) {
        last_pair_quote = i + 1;
        i += 2;
      } else if (text_[i] == quote) {
        close = i;
        break;
      } else {
        ++i;
      }
    }
    if (close == std::string::npos) close = last_pair_quote;
    if (close == std::string::npos)
      fail(open, std::string("the value's quote ") + quote + " is never closed");
    at_ = close + 1;
    return unescape(std::string_view(text_).substr(open + 1, close - open - 1), quote);
  }

  static std::string unescape(std::string_view text, char quote) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char next = i + 1 < text.size() ? text[i + 1] : '\0';
      char decoded = 0;
      if (text[i] == '\\') {
        if (next == '\\' || next == '\'') decoded = next;
        if (quote == '"') {
          switch (next) {
            case '"':
              decoded = '"';
              break;
            case 'a':
              decoded = '\a';
              break;
            case 'b':
              decoded = '\b';
              break;
            case 'f':
              decoded = '\f';
              break;
            case 'n':
              decoded = '\n';
              break;
            case 'r':
              decoded = '\r';
              break;
            case 't':
              decoded = '\t';
              break;
            case 'v':
              decoded = '\v';
              break;
            default:
              break;
          }
        }
      }
      if (decoded != 0) {
        out += decoded;
        ++i;
      } else {
        out += text[i];
      }
    }
    return out;
  }

  std::string text_;
  const std::string& source_;
  std::size_t at_ = 0;
};

// python-dotenv's ${NAME} and ${NAME:-default}: `known` (the file so far) first, where a key
// without a value counts as set to nothing, then `lookup`, then the default.
// nullopt when the result would pass limits::max_config_size: each line may double what the
// one before it holds (A=${B}${B}), so without a bound a small file fills the memory.
std::optional<std::string> interpolate(
    std::string_view value,
    const std::map<std::string, std::optional<std::string>, std::less<>>& known,
    const env_lookup& lookup) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    if (out.size() > limits::max_config_size) return std::nullopt;
    const std::size_t start = value.find("${", i);
    if (start == std::string_view::npos) break;
    out.append(value.substr(i, start - i));
    std::size_t j = start + 2;
    const std::size_t name_end = value.find_first_of("}:", j);
    std::optional<std::string_view> fallback;
    std::size_t end = std::string_view::npos;
    if (name_end != std::string_view::npos && value[name_end] == '}') {
      end = name_end;
    } else if (name_end != std::string_view::npos && value.substr(name_end, 2) == ":-") {
      const std::size_t brace = value.find('}', name_end + 2);
      if (brace != std::string_view::npos) {
        fallback = value.substr(name_end + 2, brace - name_end - 2);
        end = brace;
      }
    }
    if (end == std::string_view::npos) {  // no match here: the regex tries the next position
      out += value[start];
      i = start + 1;
      continue;
    }
    const std::string name(value.substr(j, name_end - j));
    // No environment holds a name with '=': looking one up could only find a prefix of
    // another entry ("E3=a" in "E3=a=b"), where python-dotenv finds nothing.
    const bool can_be_set = name.find('=') == std::string::npos;
    if (const auto it = known.find(name); it != known.end())
      out += it->second.value_or("");
    else if (const auto from_environment = can_be_set ? lookup(name) : std::nullopt)
      out += *from_environment;
    else if (fallback)
      out += *fallback;
    i = end + 1;
  }
  out.append(value.substr(std::min(i, value.size())));
  if (out.size() > limits::max_config_size) return std::nullopt;
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_env_file(std::string_view text,
                                                                const std::string& source,
                                                                const env_lookup& lookup) {
  env_parser parser(with_newlines(text), source);
  // The file's values so far by name (nullopt: a key alone), and the names in the order they
  // first appear, which is where python-dotenv's ordered dict keeps them.
  std::map<std::string, std::optional<std::string>, std::less<>> known;
  std::vector<std::string> order;
  for (auto& binding : parser.parse()) {
    std::optional<std::string> resolved;
    if (binding.value) {
      resolved = interpolate(*binding.value, known, lookup);
      if (!resolved)
        parser.fail(binding.key_at, "'" + escaped(binding.key) + "' is longer than " +
                                        std::to_string(limits::max_config_size >> 20) +
                                        " MiB once its ${...} are replaced");
    }
    const auto [it, added] = known.insert_or_assign(binding.key, std::move(resolved));
    if (added) order.push_back(it->first);
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : order)
    if (auto& value = known.find(name)->second) out.emplace_back(name, std::move(*value));
  return out;
}

std::optional<std::string> environment_lookup(const std::string& name) {
  // getenv("E3=a") would find the entry "E3=a=b" and give "b".
  if (name.find('=') != std::string::npos) return std::nullopt;
  const char* value = std::getenv(name.c_str());
  return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

std::vector<std::pair<std::string, std::string>> load_env_file(const std::filesystem::path& path,
                                                               const env_lookup& lookup) {
  return parse_env_file(detail::read_text_file(path, ".env file"), path.string(), lookup);
}

}  // namespace pipemux
