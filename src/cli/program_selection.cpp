#include "program_selection.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "pipemux/escape.hpp"
#include "pipemux/name_escape.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux::cli {
namespace {

// Names listed in an error at most: a Procfile of 10,000 programs made a 69 KB line.
constexpr std::size_t names_listed = 10;

// 9990 as "9,990".
std::string with_thousands(std::size_t n) {
  std::string digits = std::to_string(n);
  for (std::size_t at = digits.size(); at > 3; at -= 3) digits.insert(at - 3, ",");
  return digits;
}

// "web, worker"; past ten, "p0, ..., p9 and 9,990 more".
std::string names_of(const std::vector<program_spec>& programs) {
  std::string out;
  for (std::size_t i = 0; i < programs.size() && i < names_listed; ++i)
    out += (out.empty() ? "" : ", ") + escaped_name(programs[i].name);
  if (programs.size() > names_listed)
    out += " and " + with_thousands(programs.size() - names_listed) + " more";
  return out;
}

program_spec* find(std::vector<program_spec>& programs, const std::string& name) {
  const auto it = std::find_if(programs.begin(), programs.end(),
                               [&](const program_spec& spec) { return spec.name == name; });
  return it == programs.end() ? nullptr : &*it;
}

std::string unknown(const std::string& flag, const std::string& name,
                    const std::vector<program_spec>& programs) {
  return flag + ": no program named '" + escaped_name(name) +
         "' (the programs: " + names_of(programs) + ")";
}

}  // namespace

std::string apply_selection(std::vector<program_spec>& programs,
                            const program_selection& selection) {
  const bool selecting =
      !selection.formation.empty() || !selection.only.empty() || !selection.except.empty();
  if (!selecting) return {};
  if (programs.empty())
    return "--formation, --only and --except choose among programs: give a --procfile, "
           "COMMANDs or a config with [[program]]";
  if (!selection.only.empty() && !selection.except.empty())
    return "--only and --except: give one or the other";

  std::vector<std::string> not_run;          // a formation of 0
  std::map<std::string, std::string> given;  // name -> its item, to name a second one
  for (const auto& item : selection.formation) {
    const auto equals = item.find('=');
    const std::string name = item.substr(0, equals);
    if (equals == std::string::npos)
      return "--formation: expected NAME=COUNT, got '" + escaped_name(item) + "'";
    program_spec* spec = find(programs, name);
    if (spec == nullptr) return unknown("--formation", name, programs);
    // The last count would win in silence: which one was meant?
    if (const auto [first, added] = given.emplace(name, item); !added)
      return "--formation: " + escaped_name(name) + " is given twice (" +
             escaped_name(first->second) + ", then " + escaped_name(item) + ")";
    const std::string count_text = item.substr(equals + 1);
    std::size_t count = 0;
    const auto [end, error] =
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    if (error != std::errc() || end != count_text.data() + count_text.size() ||
        count_text.empty() || count > limits::max_children)
      return "--formation: " + escaped_name(name) + " must be a count from 0 to " +
             std::to_string(limits::max_children) + " (got '" + escaped(count_text) + "')";
    if (count == 0)
      not_run.push_back(name);
    else
      spec->instances = count;
  }
  for (const auto& list : {&selection.only, &selection.except}) {
    const std::string flag = list == &selection.only ? "--only" : "--except";
    for (const auto& name : *list)
      if (find(programs, name) == nullptr) return unknown(flag, name, programs);
  }
  const auto dropped = [&](const program_spec& spec) {
    const auto named = [&](const std::vector<std::string>& names) {
      return std::find(names.begin(), names.end(), spec.name) != names.end();
    };
    return named(not_run) || (!selection.only.empty() && !named(selection.only)) ||
           named(selection.except);
  };
  programs.erase(std::remove_if(programs.begin(), programs.end(), dropped), programs.end());
  if (programs.empty()) return "nothing left to run after --formation, --only and --except";
  // What was left out is not waited for: it runs elsewhere, or the user starts it.
  for (auto& spec : programs)
    std::erase_if(spec.depends_on,
                  [&](const dependency& d) { return find(programs, d.program) == nullptr; });
  return {};
}

std::string check_hidden(const std::vector<program_spec>& programs,
                         const std::vector<std::string>& hidden) {
  for (const auto& name : hidden) {
    if (programs.empty() && name == "spam") continue;  // the built-in producer
    if (std::none_of(programs.begin(), programs.end(),
                     [&](const program_spec& spec) { return spec.name == name; }))
      return unknown("--hide", name, programs);
  }
  return {};
}

}  // namespace pipemux::cli
