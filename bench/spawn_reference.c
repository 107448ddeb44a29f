/* The start-up reference: what the kernel needs to start N children. Spawns them with
 * posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK), no copy of this address space), each with
 * a pipe as stdout, then reads every pipe to its end and reaps every child. No formatting: a
 * child's output is counted, not written.
 *
 *   spawn_reference N -- COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: spawn_reference N -- COMMAND [ARG...]\n");
    return 2;
  }
  const int n = atoi(argv[1]);
  int* fds = calloc((size_t)n, sizeof *fds);
  pid_t* pids = calloc((size_t)n, sizeof *pids);
  for (int i = 0; i < n; ++i) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return perror("pipe2"), 1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, p[1], 1);
    const int rc = posix_spawnp(&pids[i], argv[3], &actions, NULL, argv + 3, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return fprintf(stderr, "posix_spawn: %s\n", strerror(rc)), 1;
    close(p[1]);
    fds[i] = p[0];
  }
  unsigned long long bytes = 0;
  char buf[65536];
  for (int i = 0; i < n; ++i) {
    ssize_t got;
    while ((got = read(fds[i], buf, sizeof buf)) > 0) bytes += (unsigned long long)got;
    close(fds[i]);
    waitpid(pids[i], NULL, 0);
  }
  fprintf(stderr, "%d children, %llu bytes\n", n, bytes);
  return 0;
}
