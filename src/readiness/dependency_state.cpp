#include "readiness/dependency_state.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pipemux/name_escape.hpp"

namespace pipemux::detail {

namespace {

dependency_verdict failed(std::string why) {
  return {dependency_verdict::state::failed, std::move(why)};
}

// What keeps `child` from ever meeting `condition`, or empty.
std::string why_never(dependency_condition condition, const child_progress& child) {
  if (!child.start_error.empty()) return "did not start: " + child.start_error;
  switch (condition) {
    case dependency_condition::started:
    case dependency_condition::exited:
      return {};
    case dependency_condition::ready:
      if (!child.not_ready.empty()) return "was not ready " + child.not_ready;
      if (child.finished && !child.ready)
        return (child.status ? describe(*child.status) : std::string("ended")) +
               " before it was ready";
      return {};
    case dependency_condition::completed:
      if (child.finished && !child.succeeded)
        return child.status ? describe(*child.status) : std::string("ended without an exit code");
      return {};
  }
  return {};
}

bool meets(dependency_condition condition, const child_progress& child) {
  switch (condition) {
    case dependency_condition::started:
      return child.started;
    case dependency_condition::ready:
      return child.ready;
    case dependency_condition::completed:
      return child.finished && child.succeeded;
    case dependency_condition::exited:
      return child.finished && child.started;
  }
  return false;
}

}  // namespace

dependency_verdict judge_dependency(dependency_condition condition,
                                    std::span<const child_progress> children) {
  bool all = true;
  for (const auto& child : children) {
    if (std::string why = why_never(condition, child); !why.empty()) return failed(std::move(why));
    all = all && meets(condition, child);
  }
  return {all ? dependency_verdict::state::met : dependency_verdict::state::waiting, {}};
}

std::string dependency_problem(std::span<const program_spec> programs, std::size_t& where) {
  const auto index_of = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < programs.size(); ++i)
      if (programs[i].name == name) return i;
    return std::nullopt;
  };
  for (std::size_t p = 0; p < programs.size(); ++p)
    for (const auto& d : programs[p].depends_on) {
      where = p;
      if (d.program == programs[p].name) return "depends on itself";
      if (std::count_if(programs[p].depends_on.begin(), programs[p].depends_on.end(),
                        [&](const dependency& other) { return other.program == d.program; }) > 1)
        return "depends on '" + escaped_name(d.program) + "' twice";
      if (!index_of(d.program))
        return "depends on '" + escaped_name(d.program) + "', which is not a program of this run";
    }
  // A depth-first walk; a program met again while on the path closes a cycle.
  enum class mark { none, on_path, done };
  std::vector<mark> marks(programs.size(), mark::none);
  std::vector<std::size_t> path;
  std::string cycle;
  const auto visit = [&](auto&& self, std::size_t p) -> bool {
    marks[p] = mark::on_path;
    path.push_back(p);
    for (const auto& d : programs[p].depends_on) {
      const std::size_t next = *index_of(d.program);
      if (marks[next] == mark::on_path) {
        std::size_t from = 0;
        while (path[from] != next) ++from;
        for (std::size_t i = from; i < path.size(); ++i)
          cycle += escaped_name(programs[path[i]].name) + " -> ";
        cycle += escaped_name(programs[next].name);
        where = p;
        return true;
      }
      if (marks[next] == mark::none && self(self, next)) return true;
    }
    path.pop_back();
    marks[p] = mark::done;
    return false;
  };
  for (std::size_t p = 0; p < programs.size(); ++p)
    if (marks[p] == mark::none && visit(visit, p)) return "is in a dependency cycle: " + cycle;
  return {};
}

}  // namespace pipemux::detail
