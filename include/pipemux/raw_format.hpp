// Raw output: the children's bytes as they wrote them, nothing of pipemux's (concurrently -r).
#pragma once

#include <spdlog/formatter.h>

#include <memory>

namespace pipemux {

/// A formatter that writes a child's message exactly as the child wrote it: a line with its
/// newline, a piece, a last line without one, or a raw read, unescaped; and nothing for
/// pipemux's own reports (start, exit, summary, notes). Lines of different children never mix
/// (each is written whole), and one child's bytes come out as it wrote them. Log through a
/// spdlog_adapter with pass_raw_bytes(true).
std::unique_ptr<spdlog::formatter> make_raw_formatter();

}  // namespace pipemux
