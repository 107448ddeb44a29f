// The built-in child: the C++ counterpart of the seed demo's forked writer.
#pragma once

#include "pipemux/config.hpp"

namespace pipemux::cli {

/// Writes "Spam 0" ... "Spam 4", cycling, one line per message, each with one write(2) so
/// nothing waits in a stdio buffer. In sequence mode each line is
/// "Spam <n % 5> child=<index> seq=<n>". Returns the process's exit code.
/// With `record_prefix`, the number of messages fully written is saved to
/// "<record_prefix><index>" when it ends, even by SIGTERM, SIGINT or SIGHUP: tests compare it
/// with what was logged.
int run_spam(const spam_options& options, long long index, const std::string& record_prefix = {});

/// The argv that makes this executable run `run_spam` with `options`.
std::vector<std::string> spam_argv(const spam_options& options);

}  // namespace pipemux::cli
