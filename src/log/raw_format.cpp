#include "pipemux/raw_format.hpp"

#include "log/batch_format.hpp"
#include "log/log_context.hpp"

namespace pipemux {
namespace {

void append_as_written(std::string_view text, char mark, spdlog::memory_buf_t& dest) {
  dest.append(text.data(), text.data() + text.size());
  if (mark == '|') dest.push_back('\n');  // a line: its newline, which the framer took off
}

class raw_formatter final : public detail::batch_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const detail::log_context& ctx = detail::current_log_context();
    if (ctx.mark == '*' || ctx.child == nullptr) return;  // pipemux's own: not in raw output
    append_as_written(std::string_view(msg.payload.data(), msg.payload.size()), ctx.mark, dest);
  }

  std::size_t format_lines(const detail::line_batch& batch, std::size_t next,
                           spdlog::memory_buf_t& dest, std::size_t enough) override {
    for (; next < batch.lines.size() && dest.size() < enough; ++next)
      append_as_written(batch.lines[next].text, batch.lines[next].mark, dest);
    return next;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<raw_formatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_raw_formatter() {
  return std::make_unique<raw_formatter>();
}

}  // namespace pipemux
