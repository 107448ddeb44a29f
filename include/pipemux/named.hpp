// The names that config files and flags use for each choice: one table, both places.
#pragma once

#include <string_view>
#include <utility>

namespace pipemux {

template <class T>
using named = std::pair<std::string_view, T>;

}  // namespace pipemux
