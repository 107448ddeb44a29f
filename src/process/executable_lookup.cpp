#include "process/executable_lookup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

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

namespace {

// The first line of a file, up to `most` bytes; empty if unreadable.
std::string first_bytes(const std::filesystem::path& path, std::size_t most) {
  std::string head(most, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = ::read(fd, head.data(), head.size());
  ::close(fd);
  head.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return head;
}

}  // namespace

std::optional<exec_target> resolve_exec(const std::vector<std::string>& argv,
                                        const std::string& working_directory,
                                        std::string_view search_path, std::string& why) {
  if (argv.empty()) {
    why = "empty command";
    return std::nullopt;
  }
  if (!working_directory.empty()) {
    struct stat st {};
    if (::stat(working_directory.c_str(), &st) != 0) {
      why = "cwd '" + working_directory + "': " + std::strerror(errno);
      return std::nullopt;
    }
    if (!S_ISDIR(st.st_mode)) {
      why = "cwd '" + working_directory + "': not a directory";
      return std::nullopt;
    }
  }
  std::string name = argv[0];
  const bool relative_path = name.find('/') != std::string::npos && name.front() != '/';
  if (relative_path && !working_directory.empty()) name = working_directory + "/" + name;
  exec_target target{find_executable(name, search_path, why), argv};
  if (target.executable.empty()) return std::nullopt;

  const std::string head = first_bytes(target.executable, 256);
  if (head.rfind("#!", 0) == 0) {
    // "#!/usr/bin/env python3 -u": the interpreter is the first word.
    const auto start = head.find_first_not_of(" \t", 2);
    const auto end = head.find_first_of(" \t\r\n", start);
    const std::string interpreter =
        start == std::string::npos ? std::string() : head.substr(start, end - start);
    std::string interpreter_why;
    if (interpreter.empty() || find_executable(interpreter, "", interpreter_why).empty()) {
      why = "its interpreter '" + interpreter + "' (on its #! line): " +
            (interpreter.empty() ? std::string("missing") : interpreter_why);
      return std::nullopt;
    }
  } else if (head.rfind("\x7f"
                        "ELF",
                        0) != 0 &&
             !head.empty()) {
    // Neither a binary nor a "#!" script: the kernel says ENOEXEC, and execvp runs it with
    // /bin/sh. So do we.
    target.argv.insert(target.argv.begin(), "/bin/sh");
    target.argv[1] = target.executable.string();
    target.executable = "/bin/sh";
  }
  return target;
}

}  // namespace pipemux::detail
