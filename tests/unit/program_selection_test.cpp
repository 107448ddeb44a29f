// Tests for src/cli/program_selection.hpp: --formation, --only, --except and --hide.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "program_selection.hpp"

namespace pipemux::cli {
namespace {

std::vector<program_spec> programs_named(const std::vector<std::string>& names) {
  std::vector<program_spec> programs;
  programs.reserve(names.size());
  for (const auto& name : names) {
    program_spec spec;
    spec.name = name;
    spec.argv = {"true"};
    programs.push_back(std::move(spec));
  }
  return programs;
}

TEST(ProgramSelection, AProgramGivenTwiceInTheFormationIsNamed) {
  for (const auto& formation : std::vector<std::vector<std::string>>{
           {"web=1", "web=2"}, {"web=2", "worker=1", "web=2"}, {"web=0", "web=1"}}) {
    auto programs = programs_named({"web", "worker"});
    EXPECT_EQ(apply_selection(programs, {.formation = formation}),
              "--formation: web is given twice (" + formation.front() + ", then " +
                  formation.back() + ")");
  }
  auto programs = programs_named({"web", "worker"});
  EXPECT_EQ(apply_selection(programs, {.formation = {"web=2", "worker=3"}}), "");
  EXPECT_EQ(programs.at(0).instances, 2U);
  EXPECT_EQ(programs.at(1).instances, 3U);
}

// A mistyped name among the 10,000 programs of a Procfile: one line, not the 69 KB of every
// name; up to ten are listed.
TEST(ProgramSelection, AnUnknownNameListsAtMostTenOfTheKnownOnes) {
  std::vector<std::string> names;
  names.reserve(10000);
  for (int i = 0; i < 10000; ++i) names.push_back("p" + std::to_string(i));
  const std::string known = "(the programs: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and 9,990 more)";
  auto programs = programs_named(names);
  EXPECT_EQ(apply_selection(programs, {.only = {"nope"}}),
            "--only: no program named 'nope' " + known);
  EXPECT_EQ(apply_selection(programs, {.except = {"p1", "nope"}}),
            "--except: no program named 'nope' " + known);
  EXPECT_EQ(apply_selection(programs, {.formation = {"nope=2"}}),
            "--formation: no program named 'nope' " + known);
  EXPECT_EQ(check_hidden(programs, {"nope"}), "--hide: no program named 'nope' " + known);
  names.resize(11);
  programs = programs_named(names);
  EXPECT_EQ(check_hidden(programs, {"x"}),
            "--hide: no program named 'x' (the programs: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 "
            "and 1 more)");
  names.resize(10);
  programs = programs_named(names);
  EXPECT_EQ(check_hidden(programs, {"x"}),
            "--hide: no program named 'x' (the programs: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9)");
}

}  // namespace
}  // namespace pipemux::cli
