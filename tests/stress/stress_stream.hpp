// The stress child's output, as a pure function of its index: the child writes it, the checker
// regenerates it and compares it with what pipemux logged.
#pragma once

#include <cstdint>
#include <string>

namespace pipemux::stress {

// splitmix64: small, fast, and the same on both sides.
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

enum class fate { runs_to_the_end, exits_early, killed };

/// What becomes of child `index`: a quarter kill themselves with SIGKILL, some exit early.
inline fate fate_of(std::uint64_t index) {
  if (index % 4 == 0) return fate::killed;
  if (index % 4 == 1) return fate::exits_early;
  return fate::runs_to_the_end;
}

/// Generates child `index`'s lines: each 1 to 2*max_line bytes long (before its '\n'), drawn
/// from bytes that exercise escaping (controls, backslash, UTF-8, invalid UTF-8).
class stream {
 public:
  stream(std::uint64_t index, std::size_t max_line)
      : rng_(index * 7919 + 17), max_line_(max_line) {}

  std::string next_line() {
    static constexpr char alphabet[] =
        "abcdefghijklmnopqrstuvwxyz0123456789 \t\\\x01\x1b\xc3\xa9\xff";
    const std::size_t length = 1 + rng_.below(2 * max_line_);
    std::string line;
    line.reserve(length + 1);
    for (std::size_t i = 0; i < length; ++i) line += alphabet[rng_.below(sizeof alphabet - 1)];
    line += '\n';
    return line;
  }
  rng& random() { return rng_; }

 private:
  rng rng_;
  std::size_t max_line_;
};

}  // namespace pipemux::stress
