// The control socket's request lines (src/cli/control_request.hpp): what parses, what each
// mistake says, and that a line written by line() reads back as the same request.
#include <gtest/gtest.h>

#include "control_request.hpp"

namespace {

using pipemux::cli::control_request;
using pipemux::cli::resolve_target;
using verb = control_request::verb;

control_request parsed(std::string_view line) {
  std::string error;
  const auto request = control_request::parse(line, error);
  EXPECT_TRUE(request) << line << ": " << error;
  return request.value_or(control_request{});
}

std::string refusal(std::string_view line) {
  std::string error;
  EXPECT_FALSE(control_request::parse(line, error)) << line;
  return error;
}

TEST(ControlRequest, EachVerbParsesWithItsArgument) {
  EXPECT_EQ(parsed("status").what, verb::status);
  EXPECT_FALSE(parsed("status").json);
  EXPECT_TRUE(parsed("status json").json);
  EXPECT_EQ(parsed("restart web.1").what, verb::restart);
  EXPECT_EQ(parsed("restart web.1").target, "web.1");
  EXPECT_EQ(parsed("stop web").what, verb::stop);
  EXPECT_EQ(parsed("start web").what, verb::start);
  const auto scale = parsed("scale we=b=12");
  EXPECT_EQ(scale.what, verb::scale);
  EXPECT_EQ(scale.target, "we=b");
  EXPECT_EQ(scale.count, 12U);
  EXPECT_EQ(parsed("reopen").what, verb::reopen);
  EXPECT_EQ(parsed("stop-all").what, verb::stop_all);
}

TEST(ControlRequest, NamesTravelEscapedSoAnyNameFitsOneLine) {
  control_request request;
  request.what = verb::stop;
  request.target = std::string("a b\n\x01\\", 6);
  EXPECT_EQ(request.line(), "stop a b\\n\\x01\\\\");
  EXPECT_EQ(parsed(request.line()).target, request.target);
  request.what = verb::scale;
  request.count = 3;
  EXPECT_EQ(parsed(request.line()).target, request.target);
  EXPECT_EQ(parsed(request.line()).count, 3U);
}

TEST(ControlRequest, EveryMistakeIsOneLineSayingWhat) {
  EXPECT_EQ(
      refusal("bogus x"),
      "unknown request 'bogus' (status, outputs, restart, stop, start, scale, reopen, stop-all)");
  EXPECT_EQ(refusal(""),
            "unknown request '' (status, outputs, restart, stop, start, scale, reopen, stop-all)");
  EXPECT_EQ(refusal("status yaml"), "status takes nothing, or json");
  EXPECT_EQ(refusal("stop-all now"), "stop-all takes no argument");
  EXPECT_EQ(refusal("restart"), "restart needs a program, NAME or NAME.N");
  EXPECT_EQ(refusal("stop \\q"), "stop needs a program, NAME or NAME.N");  // not escape_into's
  EXPECT_EQ(refusal("scale web"), "scale needs NAME=N (N a number of children)");
  EXPECT_EQ(refusal("scale web=-1"), "scale needs NAME=N (N a number of children)");
  EXPECT_EQ(refusal("scale web=99999999999999999999999"),
            "scale needs NAME=N (N a number of children)");
  EXPECT_EQ(refusal(std::string(control_request::max_request, 's')), "the request is too long");
  EXPECT_EQ(
      refusal(std::string("st\x1b[2Jatus")),
      "unknown request 'st\\x1b[2Jatus' (status, outputs, restart, stop, start, scale, reopen, "
      "stop-all)");
}

TEST(ControlRequest, ATargetIsAProgramOfThatVeryNameFirstThenNameDotN) {
  const std::vector<std::string> programs = {"web", "api.v2", "db.1"};
  EXPECT_EQ(resolve_target("web", programs).program, "web");
  EXPECT_FALSE(resolve_target("web", programs).instance);
  EXPECT_EQ(resolve_target("web.3", programs).program, "web");
  EXPECT_EQ(resolve_target("web.3", programs).instance, 3U);
  EXPECT_EQ(resolve_target("db.1", programs).program, "db.1");
  EXPECT_FALSE(resolve_target("db.1", programs).instance);
  EXPECT_EQ(resolve_target("api.v2", programs).program, "api.v2");
  EXPECT_EQ(resolve_target("db.1.0", programs).program, "db.1");
  EXPECT_EQ(resolve_target("db.1.0", programs).instance, 0U);
  EXPECT_EQ(resolve_target(".2", programs).program, ".2");  // no name before the dot
}

}  // namespace
