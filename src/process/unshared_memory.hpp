// Internal: memory mapped on its own, which a fork does not share with the child
// (MADV_DONTFORK).
//
// Its pages are touched only when first written, so a read buffer of which a quiet child
// fills a little costs only that little. Nothing of the library forks any more (children and
// the orphan guard are started by spawn.hpp); a host that forks does not copy these pages.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace pipemux::detail {

inline void* allocate_unshared(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_DONTFORK);
  return p;
}

inline void free_unshared(void* p, std::size_t bytes) noexcept {
  if (p != nullptr) ::munmap(p, bytes);
}

/// A fixed-size buffer of unshared memory.
class unshared_buffer {
 public:
  explicit unshared_buffer(std::size_t size)
      : data_(static_cast<char*>(allocate_unshared(size))), size_(size) {}
  ~unshared_buffer() { free_unshared(data_, size_); }
  unshared_buffer(const unshared_buffer&) = delete;
  unshared_buffer& operator=(const unshared_buffer&) = delete;
  char* get() const noexcept { return data_; }

 private:
  char* data_;
  std::size_t size_;
};

}  // namespace pipemux::detail
