// What a supervisor hands to its caller for every framed piece of child output.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "pipemux/framer.hpp"

namespace pipemux {

/// Who a child is, in one of its runs: a restart makes a new child_info with the new pid (-1
/// before its first start, or when it could not be started).
struct child_info {
  std::string name;          ///< the program's name
  std::size_t index = 0;     ///< unique in the run, counting all programs' children from 0
  std::size_t instance = 0;  ///< which copy of its program, from 0
  int pid = -1;
};

enum class stream_kind : unsigned char { out, err };

using log_clock = std::chrono::system_clock;

/// Who wrote it can be kept: `child` is shared and immutable. The bytes are a view, so that the
/// synchronous path copies nothing: to keep them past the call, copy them, or take the output
/// in batches (supervisor::async_run_batched), whose message_batch keeps them alive.
struct message {
  /// The child, as it was in the run that wrote this (its pid is that run's). Never null;
  /// valid for as long as you hold it, whatever becomes of the supervisor.
  std::shared_ptr<const child_info> child;
  stream_kind stream;
  /// When the read that completed this piece returned: taken in the read handler, before any
  /// formatting, so a slow sink never skews it.
  log_clock::time_point arrival;
  std::string_view bytes;  ///< valid during the on_message call; in a batch, as long as it
  piece_kind kind;
};

}  // namespace pipemux
