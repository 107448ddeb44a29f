#include "own_failure.hpp"

#include <fmt/format.h>
#include <boost/system/system_error.hpp>

#include <sys/resource.h>
#include <unistd.h>
#include <cerrno>
#include <fstream>
#include <new>
#include <system_error>

namespace pipemux::cli {
namespace {

// " (the limit is 8: ulimit -n)", or nothing when the limit is not set.
std::string limit_hint(int resource, const char* what, const char* flag, double unit = 1,
                       const char* unit_name = "") {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return {};
  return fmt::format(" ({} is {:.0f}{}: ulimit {})", what,
                     static_cast<double>(limit.rlim_cur) / unit, unit_name, flag);
}

std::string out_of_memory() {
  return "out of memory" + limit_hint(RLIMIT_AS, "the address-space limit", "-v", 1e6, " MB");
}

// What failed, without the error's own text: "epoll" of "epoll: Too many open files [system:24]";
// empty when the text is only the error's.
std::string context_of(const std::string& what, const std::string& message) {
  const auto at = what.find(": " + message);
  if (at != std::string::npos) return what.substr(0, at);
  return what.starts_with(message) ? std::string() : what;
}

std::string system_failure(const std::error_code& code, const std::string& what) {
  const std::string context = context_of(what, code.message());
  const std::string where = context.empty() ? std::string() : ": " + context;
  switch (code.value()) {
    case EMFILE:
    case ENFILE:
      return "out of file descriptors" + limit_hint(RLIMIT_NOFILE, "the limit", "-n") + where;
    case ENOMEM:
    case EAGAIN:  // a thread's stack that does not fit: std::thread says EAGAIN
      return out_of_memory() + where;
    default:
      return (context.empty() ? "" : context + ": ") + code.message();
  }
}

// What this process maps now (VmSize), from /proc/self/statm.
std::size_t mapped_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string address_space_shortfall(std::size_t may_need) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return {};
  const std::size_t in_use = mapped_bytes();
  if (in_use + may_need <= limit.rlim_cur) return {};
  return fmt::format("the address-space limit (ulimit -v) is {:.0f} MB and {:.0f} MB are in use",
                     static_cast<double>(limit.rlim_cur) / 1e6, static_cast<double>(in_use) / 1e6);
}

std::string describe_own_failure(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const std::bad_alloc&) {
    return out_of_memory();
  } catch (const boost::system::system_error& e) {
    return system_failure(e.code(), e.what());
  } catch (const std::system_error& e) {
    return system_failure(e.code(), e.what());
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown error";
  }
}

}  // namespace pipemux::cli
