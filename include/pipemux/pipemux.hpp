// The one header an embedding program needs: the supervisor, what it reports, and the
// ready-made spdlog ends. It pulls in neither toml++ nor CLI11 nor Boost.Process.
#pragma once

#include "pipemux/config.hpp"
#include "pipemux/error.hpp"
#include "pipemux/escape.hpp"
#include "pipemux/events.hpp"
#include "pipemux/exit_status.hpp"
#include "pipemux/fd_sink.hpp"
#include "pipemux/fd_writer.hpp"
#include "pipemux/framer.hpp"
#include "pipemux/log_format.hpp"
#include "pipemux/message.hpp"
#include "pipemux/message_batch.hpp"
#include "pipemux/program.hpp"
#include "pipemux/run_options.hpp"
#include "pipemux/spdlog_adapter.hpp"
#include "pipemux/supervisor.hpp"
#include "pipemux/version.hpp"
