// Internal: the default pattern's formatter writing many lines of one read at once (see
// fd_sink's log_batch): the date, microseconds and label are formatted once per read and
// copied before each line, instead of going through spdlog once per line.
#pragma once

#include <spdlog/formatter.h>

#include <cstddef>
#include <optional>

#include "pipemux/fd_sink.hpp"

namespace pipemux::detail {

/// A formatter that writes the lines of one read in one go: the built-in patterns' own
/// (make_log_formatter's fast path) and the JSON one.
class batch_formatter : public spdlog::formatter {
 public:
  /// Appends batch.lines[next...] to `dest`, stopping after the line that brings `dest` to
  /// `enough` bytes or more; returns the index of the next line to write.
  virtual std::size_t format_lines(const line_batch& batch, std::size_t next,
                                   spdlog::memory_buf_t& dest, std::size_t enough) = 0;
};

/// Whether `formatter` is a batch_formatter.
bool format_batch_supported(const spdlog::formatter& formatter) noexcept;

/// Appends batch.lines[first...] to `dest` as `formatter` would format each, stopping after
/// the line that brings `dest` to `enough` bytes or more. Returns the index of the next line
/// to write, or nullopt (nothing written) when the formatter is not a batch_formatter.
std::optional<std::size_t> format_batch(spdlog::formatter& formatter, const line_batch& batch,
                                        std::size_t first, spdlog::memory_buf_t& dest,
                                        std::size_t enough);

}  // namespace pipemux::detail
