// Which children's output is logged: a program's `log_streams`, and --hide (none). Their
// start and exit reports are logged whatever this says.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipemux/log_options.hpp"
#include "pipemux/message.hpp"

namespace pipemux {

class stream_filter {
 public:
  /// A later entry for a name wins (--hide after the config's log_streams).
  explicit stream_filter(const std::vector<std::pair<std::string, shown_streams>>& choices) {
    for (const auto& [name, streams] : choices) by_name_[name] = streams;
  }

  bool shows(const message& m) const {
    if (by_name_.empty()) return true;  // the common case: no lookup per read
    const auto it = by_name_.find(m.child->name);
    if (it == by_name_.end()) return true;
    switch (it->second) {
      case shown_streams::both:
        return true;
      case shown_streams::out:
        return m.stream == stream_kind::out;
      case shown_streams::err:
        return m.stream == stream_kind::err;
      case shown_streams::none:
        return false;
    }
    return true;
  }

 private:
  std::unordered_map<std::string, shown_streams> by_name_;
};

}  // namespace pipemux
