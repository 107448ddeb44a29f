// The built-in child: the C++ counterpart of the seed demo's forked writer.
#pragma once

#include "pipemux/config.hpp"

namespace pipemux::cli {

/// Writes "Spam 0" ... "Spam 4", cycling, one line per message, each with one write(2) so
/// nothing waits in a stdio buffer. In sequence mode each line is
/// "Spam <n % 5> child=<index> seq=<n>". Returns the process's exit code.
int run_spam(const spam_options& options, long long index);

/// The argv that makes this executable run `run_spam` with `options`.
std::vector<std::string> spam_argv(const spam_options& options);

}  // namespace pipemux::cli
