/* Helpers shared by the --threads test programs (plain C, usable from C++). */
#ifndef GREEN_TESTS_THREADS_CHECK_H
#define GREEN_TESTS_THREADS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

#define CHECK_EQ(a, b)                                                                        \
  do {                                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                                       \
    if (a_ != b_) {                                                                           \
      fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, \
              #a, #b, a_, b_);                                                                \
      exit(1);                                                                                \
    }                                                                                         \
  } while (0)

static inline double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The process's OS threads, from the Threads: line of /proc/self/status. */
static inline int os_threads(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  if (f == NULL) return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  fclose(f);
  return n;
}

/* An absolute time `seconds` from now on `clock`. */
static inline struct timespec after(clockid_t clock, double seconds) {
  struct timespec t;
  clock_gettime(clock, &t);
  long long ns = (long long)t.tv_nsec + (long long)(seconds * 1e9);
  long long sec = ns / 1000000000LL;
  ns %= 1000000000LL;
  if (ns < 0) {
    ns += 1000000000LL;
    --sec;
  }
  t.tv_sec += (time_t)sec;
  t.tv_nsec = (long)ns;
  return t;
}

#endif
