// The names that config files and flags use for each choice: one table, both places.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace pipemux {

template <class T>
using named = std::pair<std::string_view, T>;

/// The name of `value` in `table`, or "?" when it has none.
template <class T, std::size_t N>
constexpr std::string_view name_of(T value, const named<T> (&table)[N]) noexcept {
  for (const auto& [name, v] : table)
    if (v == value) return name;
  return "?";
}

}  // namespace pipemux
