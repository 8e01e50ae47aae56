/* The sleep family keeps its contract under green-run: durations, return values and
 * EINVAL for bad arguments. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                       \
    }                                                                 \
  } while (0)

int main(void) {
  double t0 = now();
  CHECK(usleep(20000) == 0);
  double t1 = now();
  CHECK(t1 - t0 >= 0.019 && t1 - t0 < 2.0);

  struct timespec req = {0, 20000000}, rem = {0, 0};
  CHECK(nanosleep(&req, &rem) == 0);
  double t2 = now();
  CHECK(t2 - t1 >= 0.019);

  struct timespec bad = {0, 1000000000L};
  errno = 0;
  CHECK(nanosleep(&bad, NULL) == -1 && errno == EINVAL);
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL) == EINVAL);

  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_nsec += 20000000;
  if (abs.tv_nsec >= 1000000000L) { abs.tv_sec += 1; abs.tv_nsec -= 1000000000L; }
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
  double t3 = now();
  CHECK(t3 - t2 >= 0.019);

  CHECK(sleep(0) == 0);
  printf("sleep family: ok\n");
  return 0;
}
