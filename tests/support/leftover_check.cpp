// After every test of the process binary: no child of the test process is left, zombie or not.
#include <gtest/gtest.h>

#include <unistd.h>
#include <thread>

#include "run_command.hpp"

namespace {

class leftover_children_check : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& test) override {
    // A child being reaped right now may still show for a moment.
    std::vector<int> left;
    for (int i = 0; i < 100; ++i) {
      left = pipemux::test::children_of(::getpid());
      if (left.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << test.name() << " left " << left.size()
                  << " child process(es) behind, e.g. pid " << left.front();
  }
};

const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new leftover_children_check);
  return true;
}();

}  // namespace
