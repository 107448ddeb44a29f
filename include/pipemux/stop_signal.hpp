// Which signals can ask a child to stop: those whose default action ends a process.
#pragma once

#include <string>

namespace pipemux {

/// Why `sig` cannot be a stop signal, in one phrase ("SIGSTOP pauses a process by default, it
/// does not end it"), or empty when it can. Refused: the signals whose default action is to
/// stop (STOP, TSTP, TTIN, TTOU), continue (CONT) or be ignored (CHLD, URG, WINCH): a child
/// that keeps the default would run on until SIGKILL.
std::string stop_signal_problem(int sig);

}  // namespace pipemux
