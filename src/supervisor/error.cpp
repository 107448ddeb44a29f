#include "pipemux/error.hpp"

#include <string>

namespace pipemux {
namespace {

class pipemux_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "pipemux"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::child_failed:
        return "a child failed (see the run summary for which and how)";
      case errc::spawn_failed:
        return "a program could not be started (see the run summary)";
      case errc::already_started:
        return "this supervisor has already been started: one run per supervisor";
      case errc::callback_threw:
        return "on_message or on_event threw an exception (see run_summary::callback_exception)";
    }
    return "unknown pipemux error " + std::to_string(value);
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const pipemux_category instance;
  return instance;
}

}  // namespace pipemux
