// Internal: memory that a fork does not share with the child (MADV_DONTFORK).
//
// Every fork (each child started) marks the parent's writable pages copy-on-write, and the
// parent's next write to each page costs a fault. Buffers written all the time (the pipes' read
// buffers, the log's backlog) would pay that again for every child started; children never
// touch them between fork and exec, so they are left out of the fork altogether.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
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

/// For std::vector and the like.
template <class T>
struct unshared_allocator {
  using value_type = T;
  unshared_allocator() = default;
  template <class U>
  unshared_allocator(const unshared_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_unshared(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_unshared(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const unshared_allocator<U>&) const noexcept {
    return true;
  }
};

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
