// pipemux's error codes: how a run ended, when not with every child exiting 0. They are
// boost::system codes, like Asio's own, so `ec == pipemux::errc::child_failed` and
// `ec == boost::asio::error::operation_aborted` both read naturally in a completion handler.
#pragma once

#include <boost/system/error_code.hpp>

namespace pipemux {

using error_code = boost::system::error_code;

enum class errc {
  child_failed = 1,  ///< a child exited non-zero, or was killed by a signal pipemux did not send
  spawn_failed,      ///< a program could not be started (not found, not executable, ...)
  already_started,   ///< async_run was called a second time on one supervisor: one run each
  callback_threw,    ///< on_message or on_event threw: run_summary::callback_exception holds it
};

/// The "pipemux" category. Which child and why are in the run_summary that comes with the code.
const boost::system::error_category& category() noexcept;

inline error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace pipemux

template <>
struct boost::system::is_error_code_enum<pipemux::errc> : std::true_type {};
