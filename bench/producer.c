/* The benchmark's child: writes LINES lines "Spam z" (z = n % 5) as fast as it can, through
 * fully buffered stdio, as a chatty child would.
 *
 *   producer LINES                 throughput: "Spam z\n", a 64 KiB stdio buffer, or
 *                                  PRODUCER_BUFFER bytes (4096: what glibc gives a child whose
 *                                  stdout is a pipe, so what most real children write)
 *   producer LINES RATE            latency: "Spam z <seq> <CLOCK_REALTIME ns>\n", RATE lines/s,
 *                                  each line written (and stamped) on its own
 * An argument starting with '-' is ignored (GNU parallel appends one per job).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const long long lines = atoll(argv[1]);
  if (argc == 2 || argv[2][0] == '-') {
    static char buffer[1 << 16];
    const char* wanted = getenv("PRODUCER_BUFFER");
    size_t size = wanted ? (size_t)atoll(wanted) : sizeof buffer;
    if (size == 0 || size > sizeof buffer) size = sizeof buffer;
    setvbuf(stdout, buffer, _IOFBF, size);
    static const char* text[5] = {"Spam 0\n", "Spam 1\n", "Spam 2\n", "Spam 3\n", "Spam 4\n"};
    for (long long n = 0; n < lines; ++n) fwrite(text[n % 5], 1, 7, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  const double rate = atof(argv[2]);
  const long long period = (long long)(1e9 / rate);
  long long next = now_ns(CLOCK_MONOTONIC);
  char line[96];
  for (long long n = 0; n < lines; ++n) {
    next += period;
    long long wait = next - now_ns(CLOCK_MONOTONIC);
    if (wait > 0) {
      struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
      nanosleep(&ts, NULL);
    }
    int len = snprintf(line, sizeof line, "Spam %lld %lld %lld\n", n % 5, n, now_ns(CLOCK_REALTIME));
    if (write(1, line, (size_t)len) != len) return 1;
  }
  return 0;
}
