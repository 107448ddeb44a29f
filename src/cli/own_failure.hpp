// What to tell the user when pipemux itself fails (not a child, not the log): out of memory,
// out of descriptors, a resource limit. One line, naming the limit to raise where there is one.
#pragma once

#include <cstddef>
#include <exception>
#include <string>

namespace pipemux::cli {

/// "out of memory (the address-space limit is 20 MB: ulimit -v)", "out of file descriptors
/// (the limit is 8: ulimit -n): epoll", or the exception's own text.
std::string describe_own_failure(const std::exception_ptr& failure);

/// Up front, where a run would run out of memory for sure: `may_need` more bytes than the
/// address-space limit (ulimit -v) leaves beside what this process maps now. Empty when they
/// fit or there is no limit; else "the address-space limit (ulimit -v) is 60 MB and 31 MB are
/// in use", for a line that says what needs the rest.
std::string address_space_shortfall(std::size_t may_need);

}  // namespace pipemux::cli
