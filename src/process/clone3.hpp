// Internal: clone3(2) running a function on a stack of its own in the child, which glibc 2.36
// does not offer (its clone3 wrapper is internal). For what clone(2) cannot do: a child born
// in a cgroup (CLONE_INTO_CGROUP, Linux 5.7).
#pragma once

#include <cstddef>

namespace pipemux::detail {

/// CLONE_INTO_CGROUP, which <linux/sched.h> has and glibc 2.36's <sched.h> does not.
inline constexpr unsigned long long clone_into_cgroup = 0x200000000ULL;

struct clone3_call {
  unsigned long long flags;  ///< CLONE_* (CLONE_VM | CLONE_VFORK for a spawn)
  int* pidfd;                ///< with CLONE_PIDFD: where the kernel puts the child's pidfd
  int exit_signal;           ///< SIGCHLD
  int cgroup_fd;             ///< with CLONE_INTO_CGROUP: the cgroup v2 directory
  void* stack;               ///< the child's stack: its lowest address
  std::size_t stack_size;
  int (*child)(void*);  ///< runs in the child; what it returns is its exit status
  void* argument;
};

/// The child's pid, or -1 with errno set: ENOSYS where there is no clone3 (before Linux 5.3,
/// on architectures other than x86-64 here, or under a seccomp filter that refuses it, as
/// Docker's default profile does), E2BIG or EINVAL where a flag is unknown to this kernel.
int clone3_with_function(const clone3_call& call) noexcept;

}  // namespace pipemux::detail
