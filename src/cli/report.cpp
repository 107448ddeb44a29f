#include "report.hpp"

#include <iostream>

namespace pipemux::cli {

int report_error(std::string_view what, int code) {
  std::cerr << "pipemux: error: " << what << "\n";
  return code;
}

}  // namespace pipemux::cli
