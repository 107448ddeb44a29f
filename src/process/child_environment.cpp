#include "process/child_environment.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace pipemux::detail {
namespace {

constexpr std::array<std::string_view, 3> identity_names = {
    "PIPEMUX_CHILD_NAME", "PIPEMUX_CHILD_INDEX", "PIPEMUX_CHILD_INSTANCE"};

std::string_view name_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// "NAME=value" entries where a later one replaces an earlier one of its name, in one pass.
class entry_list {
 public:
  void set(std::string entry) {
    const std::string name(name_of(entry));
    const auto [at, added] = index_.try_emplace(name, entries_.size());
    if (added)
      entries_.push_back(std::move(entry));
    else
      entries_[at->second] = std::move(entry);
  }
  bool has(std::string_view name) const { return index_.contains(std::string(name)); }
  std::vector<std::string> take() { return std::move(entries_); }

 private:
  std::vector<std::string> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace

program_environment::program_environment(const program_spec& spec, const char* const* parent,
                                         bool unbuffered) {
  const bool sets_port = std::any_of(spec.environment.begin(), spec.environment.end(),
                                     [](const auto& variable) { return variable.first == "PORT"; });
  if (!sets_port) first_port_ = spec.port;
  entry_list list;
  for (const char* const* entry = parent; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    bool identity = false;  // the parent's own, when it is a child of a pipemux itself
    for (const auto name : identity_names) identity = identity || name_of(text) == name;
    if (first_port_ && name_of(text) == "PORT") identity = true;  // each child gets its own
    if (!identity) list.set(std::string(text));
  }
  if (unbuffered && !list.has("PYTHONUNBUFFERED")) list.set("PYTHONUNBUFFERED=1");
  for (const auto& [name, value] : spec.environment) {
    for (std::size_t i = 0; i < identity_names.size(); ++i)
      program_sets_[i] = program_sets_[i] || name == identity_names[i];
    std::string entry;
    entry.reserve(name.size() + 1 + value.size());
    entry.append(name).append(1, '=').append(value);
    list.set(std::move(entry));
  }
  entries_ = list.take();
  search_path_ = "/usr/local/bin:/usr/bin:/bin";  // what execvp assumes without a PATH
  for (const auto& entry : entries_)
    if (name_of(entry) == "PATH") search_path_ = entry.substr(5);
}

std::vector<std::string> program_environment::for_child(const child_info& child) const {
  std::vector<std::string> env;
  env.reserve(entries_.size() + identity_names.size());
  env.insert(env.end(), entries_.begin(), entries_.end());
  const std::array<std::string, 3> values = {child.name, std::to_string(child.index),
                                             std::to_string(child.instance)};
  for (std::size_t i = 0; i < identity_names.size(); ++i)
    if (!program_sets_[i]) env.push_back(std::string(identity_names[i]) + '=' + values[i]);
  if (first_port_)
    env.push_back("PORT=" + std::to_string(*first_port_ + static_cast<long long>(child.instance)));
  return env;
}

}  // namespace pipemux::detail
