/* 1,000 threads that each sleep through usleep, nanosleep and clock_nanosleep finish in
 * about the time one takes, on at most 4 OS threads. */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>

#include "threads_check.h"

enum { kThreads = 1000 };
static const double kStep = 0.1; /* each of the three sleeps */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int done = 0;
static int max_os_threads = 0;

static void* sleeper(void* arg) {
  (void)arg;
  CHECK(usleep((useconds_t)(kStep * 1e6)) == 0);
  struct timespec step = {0, (long)(kStep * 1e9)};
  CHECK(nanosleep(&step, NULL) == 0);
  CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &step, NULL) == 0);
  pthread_mutex_lock(&lock);
  int n = os_threads();
  if (n > max_os_threads) max_os_threads = n;
  ++done;
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_t threads[kThreads];
  double start = now_seconds();
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, sleeper, NULL), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  double elapsed = now_seconds() - start;
  CHECK_EQ(done, kThreads);
  CHECK(elapsed >= 3 * kStep * 0.95);
  /* One thread takes 0.3 s; 1,000 of them in sequence would take 300 s. */
  CHECK(elapsed < 3 * kStep * 15);
  CHECK(max_os_threads >= 1 && max_os_threads <= 4);
  printf("1000 sleeping threads: %.2f s (one: %.2f s), at most %d OS threads\n", elapsed, 3 * kStep, max_os_threads);
  return 0;
}
