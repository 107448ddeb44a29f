// Refuses, when a program links, a Boost.Asio configuration other than libpipemux's wherever
// the difference changes Asio's types or inline code. Mixed, they compile and link, and crash:
// a program built with -DBOOST_ASIO_DISABLE_THREADS hands an io_context without mutexes to a
// supervisor compiled to lock them.
//
// Each file that includes this header (supervisor.hpp does) refers to one symbol per setting,
// named after that setting under the file's own macros; libpipemux defines only those of its
// own build (src/asio_configuration.cpp). A mismatch is an undefined reference naming it:
//
//   undefined reference to
//   `pipemux::asio_configuration::libpipemux_built_with_BOOST_ASIO_DISABLE_THREADS'
//
// means this program defines BOOST_ASIO_DISABLE_THREADS and libpipemux was built without it:
// build both alike. Checked: threads, the reactor (epoll, eventfd, timerfd, io_uring),
// handler tracking, buffer debugging (on with _GLIBCXX_DEBUG), the TS executors, and the size
// of the recycling allocator's cache. Not checked, as they change no layout and no inline
// code libpipemux shares with the program: BOOST_ASIO_NO_DEPRECATED (libpipemux builds with it,
// a program may not), BOOST_ASIO_SEPARATE_COMPILATION, coroutine support.
#pragma once

#include <boost/asio/buffer.hpp>  // whether buffer debugging is on
#include <boost/asio/detail/config.hpp>
#include <boost/asio/detail/thread_info_base.hpp>  // the recycling cache's size

// The names are spelled out: a macro's name passed through another macro would be expanded.
#define PIPEMUX_ASIO_JOIN_(a, b) a##b
#define PIPEMUX_ASIO_JOIN(a, b) PIPEMUX_ASIO_JOIN_(a, b)
#define libpipemux_built_with_macro PIPEMUX_ASIO_JOIN(libpipemux_built_with_, macro)
#define libpipemux_built_without_macro PIPEMUX_ASIO_JOIN(libpipemux_built_without_, macro)

#if defined(BOOST_ASIO_HAS_THREADS)
#define PIPEMUX_ASIO_THREADS libpipemux_built_without_BOOST_ASIO_DISABLE_THREADS
#else
#define PIPEMUX_ASIO_THREADS libpipemux_built_with_BOOST_ASIO_DISABLE_THREADS
#endif
#if defined(BOOST_ASIO_HAS_EPOLL)
#define PIPEMUX_ASIO_EPOLL libpipemux_built_without_BOOST_ASIO_DISABLE_EPOLL
#else
#define PIPEMUX_ASIO_EPOLL libpipemux_built_with_BOOST_ASIO_DISABLE_EPOLL
#endif
#if defined(BOOST_ASIO_HAS_EVENTFD)
#define PIPEMUX_ASIO_EVENTFD libpipemux_built_without_BOOST_ASIO_DISABLE_EVENTFD
#else
#define PIPEMUX_ASIO_EVENTFD libpipemux_built_with_BOOST_ASIO_DISABLE_EVENTFD
#endif
#if defined(BOOST_ASIO_HAS_TIMERFD)
#define PIPEMUX_ASIO_TIMERFD libpipemux_built_without_BOOST_ASIO_DISABLE_TIMERFD
#else
#define PIPEMUX_ASIO_TIMERFD libpipemux_built_with_BOOST_ASIO_DISABLE_TIMERFD
#endif
#if defined(BOOST_ASIO_HAS_IO_URING)
#define PIPEMUX_ASIO_IO_URING libpipemux_built_with_BOOST_ASIO_HAS_IO_URING
#else
#define PIPEMUX_ASIO_IO_URING libpipemux_built_without_BOOST_ASIO_HAS_IO_URING
#endif
#if defined(BOOST_ASIO_ENABLE_HANDLER_TRACKING)
#define PIPEMUX_ASIO_TRACKING libpipemux_built_with_BOOST_ASIO_ENABLE_HANDLER_TRACKING
#else
#define PIPEMUX_ASIO_TRACKING libpipemux_built_without_BOOST_ASIO_ENABLE_HANDLER_TRACKING
#endif
#if defined(BOOST_ASIO_ENABLE_BUFFER_DEBUGGING)
#define PIPEMUX_ASIO_BUFFER_DEBUGGING libpipemux_built_with_BOOST_ASIO_ENABLE_BUFFER_DEBUGGING
#else
#define PIPEMUX_ASIO_BUFFER_DEBUGGING libpipemux_built_without_BOOST_ASIO_ENABLE_BUFFER_DEBUGGING
#endif
#if defined(BOOST_ASIO_NO_TS_EXECUTORS)
#define PIPEMUX_ASIO_TS_EXECUTORS libpipemux_built_with_BOOST_ASIO_NO_TS_EXECUTORS
#else
#define PIPEMUX_ASIO_TS_EXECUTORS libpipemux_built_without_BOOST_ASIO_NO_TS_EXECUTORS
#endif
#if defined(BOOST_ASIO_USE_TS_EXECUTOR_AS_DEFAULT)
#define PIPEMUX_ASIO_TS_DEFAULT libpipemux_built_with_BOOST_ASIO_USE_TS_EXECUTOR_AS_DEFAULT
#else
#define PIPEMUX_ASIO_TS_DEFAULT libpipemux_built_without_BOOST_ASIO_USE_TS_EXECUTOR_AS_DEFAULT
#endif
#define PIPEMUX_ASIO_CACHE_SIZE                                                       \
  PIPEMUX_ASIO_JOIN(libpipemux_built_with_BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE_, \
                    BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE)

namespace pipemux::asio_configuration {

extern const int PIPEMUX_ASIO_THREADS;
extern const int PIPEMUX_ASIO_EPOLL;
extern const int PIPEMUX_ASIO_EVENTFD;
extern const int PIPEMUX_ASIO_TIMERFD;
extern const int PIPEMUX_ASIO_IO_URING;
extern const int PIPEMUX_ASIO_TRACKING;
extern const int PIPEMUX_ASIO_BUFFER_DEBUGGING;
extern const int PIPEMUX_ASIO_TS_EXECUTORS;
extern const int PIPEMUX_ASIO_TS_DEFAULT;
extern const int PIPEMUX_ASIO_CACHE_SIZE;

/// Initialized (at start-up, from the symbols above) in every program that includes this: the
/// reference that makes the linker check them.
inline const int checked = PIPEMUX_ASIO_THREADS + PIPEMUX_ASIO_EPOLL + PIPEMUX_ASIO_EVENTFD +
                           PIPEMUX_ASIO_TIMERFD + PIPEMUX_ASIO_IO_URING + PIPEMUX_ASIO_TRACKING +
                           PIPEMUX_ASIO_BUFFER_DEBUGGING + PIPEMUX_ASIO_TS_EXECUTORS +
                           PIPEMUX_ASIO_TS_DEFAULT + PIPEMUX_ASIO_CACHE_SIZE;

}  // namespace pipemux::asio_configuration
