// The symbols of libpipemux's own Asio configuration: see asio_configuration.hpp.
#include "pipemux/asio_configuration.hpp"

namespace pipemux::asio_configuration {

const int PIPEMUX_ASIO_THREADS = 0;
const int PIPEMUX_ASIO_EPOLL = 0;
const int PIPEMUX_ASIO_EVENTFD = 0;
const int PIPEMUX_ASIO_TIMERFD = 0;
const int PIPEMUX_ASIO_IO_URING = 0;
const int PIPEMUX_ASIO_TRACKING = 0;
const int PIPEMUX_ASIO_BUFFER_DEBUGGING = 0;
const int PIPEMUX_ASIO_TS_EXECUTORS = 0;
const int PIPEMUX_ASIO_TS_DEFAULT = 0;
const int PIPEMUX_ASIO_CACHE_SIZE = 0;

}  // namespace pipemux::asio_configuration
