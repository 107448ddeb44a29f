// What to tell the user when pipemux itself fails (not a child, not the log): out of memory,
// out of descriptors, a resource limit. One line, naming the limit to raise where there is one.
#pragma once

#include <exception>
#include <string>

namespace pipemux::cli {

/// "out of memory (the address-space limit is 20 MB: ulimit -v)", "out of file descriptors
/// (the limit is 8: ulimit -n): epoll", or the exception's own text.
std::string describe_own_failure(const std::exception_ptr& failure);

}  // namespace pipemux::cli
