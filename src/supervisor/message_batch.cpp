#include "pipemux/message_batch.hpp"

#include <cstring>

#include "supervisor/batch_builder.hpp"

namespace pipemux {

std::size_t message_batch::bytes() const noexcept {
  std::size_t total = 0;
  for (const auto& m : messages_) total += m.bytes.size();
  return total;
}

void message_batch::release() noexcept {
  // The views first: the pipe may be read into their buffer once hold_ is gone.
  messages_ = {};
  owned_.clear();
  hold_.reset();
}

namespace detail {

std::string_view batch_builder::own(message_batch& batch, std::string_view bytes) {
  auto copy = std::make_unique_for_overwrite<char[]>(bytes.size() == 0 ? 1 : bytes.size());
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  const std::string_view owned(copy.get(), bytes.size());
  batch.owned_.push_back(std::move(copy));
  return owned;
}

}  // namespace detail
}  // namespace pipemux
