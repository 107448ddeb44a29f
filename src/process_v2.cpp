// Compiles Boost.Process v2 once for the whole project (BOOST_PROCESS_V2_SEPARATE_COMPILATION).
// Boost 1.81 issue #280: with BOOST_PROCESS_USE_STD_FS these must come before any v2 header.
#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>

#include <boost/process/v2/src.hpp>
