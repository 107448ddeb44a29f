#include "config/text_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "pipemux/config_error.hpp"
#include "pipemux/run_options.hpp"

namespace pipemux::detail {

std::string read_text_file(const std::filesystem::path& path, std::string_view kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(path.string(), 0, 0, "",
                       std::string("cannot read: ") + std::strerror(errno));
  std::string text(limits::max_config_size + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad())
    throw config_error(path.string(), 0, 0, "",
                       std::string("cannot read: ") + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limits::max_config_size)
    throw config_error(path.string(), 0, 0, "",
                       "larger than " + std::to_string(limits::max_config_size >> 20) +
                           " MiB: not a " + std::string(kind));
  return text;
}

}  // namespace pipemux::detail
