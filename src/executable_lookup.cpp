#include "executable_lookup.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>

namespace pipemux::detail {
namespace {

enum class candidate { missing, not_executable, directory, ok };

candidate check(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return candidate::missing;
  if (S_ISDIR(st.st_mode)) return candidate::directory;
  if (::access(path.c_str(), X_OK) != 0) return candidate::not_executable;
  return candidate::ok;
}

}  // namespace

std::filesystem::path find_executable(std::string_view name, std::string_view search_path,
                                      std::string& why) {
  if (name.empty()) {
    why = "empty command";
    return {};
  }
  if (name.find('/') != std::string_view::npos) {
    const std::string path(name);
    switch (check(path)) {
      case candidate::ok:
        return path;
      case candidate::missing:
        why = "no such file";
        break;
      case candidate::directory:
        why = "is a directory";
        break;
      case candidate::not_executable:
        why = "permission denied (not executable)";
        break;
    }
    return {};
  }
  bool saw_non_executable = false;
  while (true) {
    const auto colon = search_path.find(':');
    std::string_view dir = search_path.substr(0, colon);
    std::string path = dir.empty() ? std::string(".") : std::string(dir);
    path += '/';
    path += name;
    const candidate c = check(path);
    if (c == candidate::ok) return path;
    if (c == candidate::not_executable) saw_non_executable = true;
    if (colon == std::string_view::npos) break;
    search_path.remove_prefix(colon + 1);
  }
  why = saw_non_executable ? "found in PATH but not executable" : "not found in PATH";
  return {};
}

}  // namespace pipemux::detail
