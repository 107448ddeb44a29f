// Tests for src/cli/program_selection.hpp: --formation, --only, --except and --hide.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "program_selection.hpp"

namespace pipemux::cli {
namespace {

std::vector<program_spec> programs_named(const std::vector<std::string>& names) {
  std::vector<program_spec> programs;
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

}  // namespace
}  // namespace pipemux::cli
