// What a supervisor hands to its caller for every framed piece of child output.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "pipemux/framer.hpp"

namespace pipemux {

/// Who a child is. Stable for the child's whole life; `pid` is set once it started.
struct child_info {
  std::string name;          ///< the program's name
  std::size_t index = 0;     ///< unique in the run, counting all programs' children from 0
  std::size_t instance = 0;  ///< which copy of its program, from 0
  int pid = -1;
};

enum class stream_kind : unsigned char { out, err };

using log_clock = std::chrono::system_clock;

/// A view, so that the synchronous path copies nothing. To keep a message past the call, take
/// the output in batches (supervisor::async_run_batched): a message_batch keeps its bytes and
/// its children's child_info alive. Or copy what you need: the child_info (whose pid is that
/// of the child's current run: a restart changes it) and the bytes.
struct message {
  /// Owned by the supervisor: valid as long as the supervisor exists (or the batch holding
  /// this message does).
  const child_info& child;
  stream_kind stream;
  /// When the read that completed this piece returned: taken in the read handler, before any
  /// formatting, so a slow sink never skews it.
  log_clock::time_point arrival;
  std::string_view bytes;  ///< valid during the on_message call; in a batch, as long as it
  piece_kind kind;
};

}  // namespace pipemux
