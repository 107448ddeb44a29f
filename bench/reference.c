/* The hand-written C reference the benchmark compares pipemux with: spawns N children, reads
 * their pipes with epoll and 64 KiB read()s, and writes one timestamped line per line (or per
 * read, with --raw) into a 1 MiB output buffer:
 *   "YYYY-mm-dd HH:MM:SS.uuuuuu name.index[pid] out | text"   (pipemux's default format)
 * Per line: clock_gettime, a strftime cached per second, and snprintf for the prefix.
 *
 *   reference [--raw READ_SIZE] [--epoch] [--count] N -- COMMAND [ARG...]
 * --epoch writes "<seconds>.<micros> ..." instead of the date (the latency runs parse it).
 * --count only counts the lines (64 KiB reads, memchr for each '\n') and prints the total at
 * the end: the parse floor, what no logger can beat.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { out_capacity = 1 << 20, max_line = 65536 };
static char out[out_capacity];
static size_t out_used;

static void flush_out(void) {
  size_t done = 0;
  while (done < out_used) {
    ssize_t n = write(1, out + done, out_used - done);
    if (n <= 0) exit(1);
    done += (size_t)n;
  }
  out_used = 0;
}

static void emit(const char* data, size_t len) {
  if (out_used + len > out_capacity) flush_out();
  memcpy(out + out_used, data, len);
  out_used += len;
}

struct child {
  int fd, pid, index;
  char pending[max_line];
  size_t pending_len;
};

static int epoch_stamps;
static int count_only;
static unsigned long long lines_counted;
static time_t cached_second = -1;
static char cached_date[32];

static void emit_line(const struct child* c, const char* text, size_t len, char mark) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char prefix[128];
  int n;
  if (epoch_stamps) {
    n = snprintf(prefix, sizeof prefix, "%lld.%06ld producer.%d[%d] out %c ", (long long)ts.tv_sec,
                 ts.tv_nsec / 1000, c->index, c->pid, mark);
  } else {
    if (ts.tv_sec != cached_second) {
      struct tm tm;
      localtime_r(&ts.tv_sec, &tm);
      strftime(cached_date, sizeof cached_date, "%Y-%m-%d %H:%M:%S", &tm);
      cached_second = ts.tv_sec;
    }
    n = snprintf(prefix, sizeof prefix, "%s.%06ld producer.%d[%d] out %c ", cached_date,
                 ts.tv_nsec / 1000, c->index, c->pid, mark);
  }
  emit(prefix, (size_t)n);
  emit(text, len);
  emit("\n", 1);
}

int main(int argc, char** argv) {
  int arg = 1;
  size_t raw_size = 0;
  for (; arg < argc && argv[arg][0] == '-' && strcmp(argv[arg], "--") != 0; ++arg) {
    if (strcmp(argv[arg], "--raw") == 0) raw_size = (size_t)atol(argv[++arg]);
    if (strcmp(argv[arg], "--epoch") == 0) epoch_stamps = 1;
    if (strcmp(argv[arg], "--count") == 0) count_only = 1;
  }
  if (arg + 2 >= argc) return 2;
  const int count = atoi(argv[arg]);
  char** command = argv + arg + 2;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct child* children = calloc((size_t)count, sizeof *children);
  for (int i = 0; i < count; ++i) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return 1;
    int pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      char index[16];
      snprintf(index, sizeof index, "%d", i);
      setenv("PIPEMUX_CHILD_INDEX", index, 1);
      execvp(command[0], command);
      _exit(127);
    }
    close(fds[1]);
    children[i] = (struct child){.fd = fds[0], .pid = pid, .index = i};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &children[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
  }

  size_t read_size = raw_size ? raw_size : 65536;
  char* buf = malloc(read_size);
  char* escaped = malloc(read_size * 4 + 1);
  int open_pipes = count;
  struct epoll_event events[64];
  while (open_pipes > 0) {
    int ready = epoll_wait(ep, events, 64, -1);
    for (int e = 0; e < ready; ++e) {
      struct child* c = events[e].data.ptr;
      ssize_t n = read(c->fd, buf, read_size);
      if (n <= 0) {
        if (c->pending_len) emit_line(c, c->pending, c->pending_len, '%');
        close(c->fd);
        --open_pipes;
        continue;
      }
      if (count_only) {
        for (const char* p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))) != NULL; ++p)
          ++lines_counted;
        continue;
      }
      if (raw_size) {  /* one line per read; '\n' shown as "\n", as pipemux does */
        size_t len = 0;
        for (ssize_t i = 0; i < n; ++i) {
          if (buf[i] == '\n') { escaped[len++] = '\\'; escaped[len++] = 'n'; }
          else escaped[len++] = buf[i];
        }
        emit_line(c, escaped, len, '~');
        continue;
      }
      const char* p = buf;
      const char* end = buf + n;
      while (p < end) {
        const char* nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
          size_t rest = (size_t)(end - p);
          if (c->pending_len + rest > max_line) rest = max_line - c->pending_len;
          memcpy(c->pending + c->pending_len, p, rest);
          c->pending_len += rest;
          break;
        }
        if (c->pending_len) {
          size_t part = (size_t)(nl - p);
          if (c->pending_len + part > max_line) part = max_line - c->pending_len;
          memcpy(c->pending + c->pending_len, p, part);
          emit_line(c, c->pending, c->pending_len + part, '|');
          c->pending_len = 0;
        } else {
          emit_line(c, p, (size_t)(nl - p), '|');
        }
        p = nl + 1;
      }
    }
    flush_out();  /* nothing waits in the buffer while the loop sleeps */
  }
  if (count_only) {
    char total[32];
    emit(total, (size_t)snprintf(total, sizeof total, "%llu lines\n", lines_counted));
  }
  flush_out();
  while (wait(NULL) > 0) {
  }
  return 0;
}
