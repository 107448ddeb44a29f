#include "process/clone3.hpp"

#include <linux/sched.h>
#include <cerrno>
#include <cstdint>

namespace pipemux::detail {

#if defined(__x86_64__)

// long pipemux_clone3_trampoline(clone_args* args, size_t size, int (*child)(void*), void* arg)
//
// The child returns from the system call on its new stack, where no C++ frame exists: it may
// only call `child` and exit, so this part is assembly (as glibc's own clone3.S). The system
// call keeps every register but rax, rcx and r11: `child` and `arg` wait in r8 and r9.
asm(R"(
  .text
  .p2align 4
  .globl pipemux_clone3_trampoline
  .hidden pipemux_clone3_trampoline
  .type pipemux_clone3_trampoline, @function
pipemux_clone3_trampoline:
  .cfi_startproc
  movq %rdx, %r8
  movq %rcx, %r9
  movl $435, %eax
  syscall
  testq %rax, %rax
  jz 1f
  ret
1:
  .cfi_undefined rip
  xorl %ebp, %ebp
  movq %r9, %rdi
  call *%r8
  movl %eax, %edi
  movl $60, %eax
  syscall
  hlt
  .cfi_endproc
  .size pipemux_clone3_trampoline, .-pipemux_clone3_trampoline
)");

extern "C" long pipemux_clone3_trampoline(clone_args* args, std::size_t size, int (*child)(void*),
                                          void* argument);

int clone3_with_function(const clone3_call& call) noexcept {
  clone_args args{};
  args.flags = call.flags;
  args.pidfd = reinterpret_cast<std::uintptr_t>(call.pidfd);
  args.exit_signal = static_cast<unsigned>(call.exit_signal);
  args.stack = reinterpret_cast<std::uintptr_t>(call.stack);
  args.stack_size = call.stack_size;
  args.cgroup = static_cast<std::uint64_t>(call.cgroup_fd);
  static_assert(clone_into_cgroup == CLONE_INTO_CGROUP);
  const long result = pipemux_clone3_trampoline(&args, sizeof args, call.child, call.argument);
  if (result < 0) {
    errno = static_cast<int>(-result);
    return -1;
  }
  return static_cast<int>(result);
}

#else

int clone3_with_function(const clone3_call&) noexcept {
  errno = ENOSYS;
  return -1;
}

#endif

}  // namespace pipemux::detail
