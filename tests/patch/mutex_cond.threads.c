/* Mutexes and condition variables under --threads, 64 threads: a bounded buffer, mutex
 * types (normal, recursive, errorcheck), trylock/timedlock/clocklock, and timed waits on a
 * CLOCK_MONOTONIC condvar, half signalled and half timing out. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "threads_check.h"

enum { kThreads = 64, kItems = 2000, kCapacity = 8 };

/* ---- bounded buffer: 32 producers, 32 consumers ---- */
static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long buffer[kCapacity];
static int count = 0, head = 0;
static long consumed_sum = 0;
static int consumed = 0;

static void* producer(void* arg) {
  long base = (long)arg * kItems;
  for (long i = 0; i < kItems; ++i) {
    pthread_mutex_lock(&buf_lock);
    while (count == kCapacity) pthread_cond_wait(&not_full, &buf_lock);
    buffer[(head + count) % kCapacity] = base + i;
    ++count;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&buf_lock);
  }
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  for (int i = 0; i < kItems; ++i) {
    pthread_mutex_lock(&buf_lock);
    while (count == 0) pthread_cond_wait(&not_empty, &buf_lock);
    long v = buffer[head];
    head = (head + 1) % kCapacity;
    --count;
    consumed_sum += v;
    ++consumed;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&buf_lock);
  }
  return NULL;
}

/* ---- mutual exclusion across yields ---- */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static int inside = 0, counter = 0;
static void* incrementer(void* arg) {
  (void)arg;
  for (int i = 0; i < 20; ++i) {
    pthread_mutex_lock(&counter_lock);
    CHECK_EQ(++inside, 1);
    int seen = counter;
    usleep(100); /* yields while holding the mutex */
    counter = seen + 1;
    --inside;
    pthread_mutex_unlock(&counter_lock);
  }
  return NULL;
}

/* ---- mutex types ---- */
static pthread_mutex_t recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t errorcheck = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;

static void* other_greenlet_tries(void* arg) {
  (void)arg;
  /* The main thread holds all three; this thread runs on the same OS thread. */
  CHECK_EQ(pthread_mutex_trylock(&recursive), EBUSY);
  CHECK_EQ(pthread_mutex_trylock(&errorcheck), EBUSY);
  CHECK_EQ(pthread_mutex_trylock(&plain), EBUSY);
  CHECK_EQ(pthread_mutex_unlock(&errorcheck), EPERM);
  CHECK_EQ(pthread_mutex_unlock(&recursive), EPERM);
  struct timespec soon = after(CLOCK_REALTIME, 0.02);
  CHECK_EQ(pthread_mutex_timedlock(&plain, &soon), ETIMEDOUT);
  struct timespec soon_mono = after(CLOCK_MONOTONIC, 0.02);
  CHECK_EQ(pthread_mutex_clocklock(&plain, CLOCK_MONOTONIC, &soon_mono), ETIMEDOUT);
  struct timespec later = after(CLOCK_MONOTONIC, 10);
  CHECK_EQ(pthread_mutex_clocklock(&plain, CLOCK_MONOTONIC, &later), 0); /* main unlocks it */
  pthread_mutex_unlock(&plain);
  return NULL;
}

static void mutex_types(void) {
  CHECK_EQ(pthread_mutex_lock(&recursive), 0);
  CHECK_EQ(pthread_mutex_lock(&recursive), 0);
  CHECK_EQ(pthread_mutex_trylock(&recursive), 0);
  CHECK_EQ(pthread_mutex_lock(&errorcheck), 0);
  CHECK_EQ(pthread_mutex_lock(&errorcheck), EDEADLK);
  CHECK_EQ(pthread_mutex_lock(&plain), 0);
  CHECK_EQ(pthread_mutex_trylock(&plain), EBUSY);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, other_greenlet_tries, NULL), 0);
  usleep(100000); /* the other thread's timed locks expire meanwhile */
  CHECK_EQ(pthread_mutex_unlock(&plain), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  for (int i = 0; i < 3; ++i) CHECK_EQ(pthread_mutex_unlock(&recursive), 0);
  CHECK_EQ(pthread_mutex_unlock(&recursive), EPERM);
  CHECK_EQ(pthread_mutex_unlock(&errorcheck), 0);
  CHECK_EQ(pthread_mutex_unlock(&errorcheck), EPERM);

  /* pthread_mutex_init'ed types behave the same. */
  pthread_mutexattr_t attr;
  pthread_mutex_t m;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  CHECK_EQ(pthread_mutex_init(&m, &attr), 0);
  CHECK_EQ(pthread_mutex_lock(&m), 0);
  CHECK_EQ(pthread_mutex_lock(&m), 0);
  CHECK_EQ(pthread_mutex_unlock(&m), 0);
  CHECK_EQ(pthread_mutex_unlock(&m), 0);
  CHECK_EQ(pthread_mutex_destroy(&m), 0);
  pthread_mutexattr_destroy(&attr);
}

/* ---- timed waits: 64 threads, half signalled, half time out ---- */
static pthread_mutex_t timed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timed_cond;
static int tickets = 0, timed_out = 0, signalled = 0, waiting = 0;

static void* timed_waiter(void* arg) {
  (void)arg;
  pthread_mutex_lock(&timed_lock);
  ++waiting;
  struct timespec deadline = after(CLOCK_MONOTONIC, 0.3);
  int r = 0;
  while (tickets == 0 && r == 0) r = pthread_cond_timedwait(&timed_cond, &timed_lock, &deadline);
  if (tickets > 0) {
    --tickets;
    ++signalled;
  } else {
    CHECK_EQ(r, ETIMEDOUT);
    ++timed_out;
  }
  pthread_mutex_unlock(&timed_lock);
  return NULL;
}

static void timed_waits(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  CHECK_EQ(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), 0);
  CHECK_EQ(pthread_cond_init(&timed_cond, &attr), 0);
  pthread_condattr_destroy(&attr);
  pthread_t threads[kThreads];
  double start = now_seconds();
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, timed_waiter, NULL), 0);
  for (;;) {
    pthread_mutex_lock(&timed_lock);
    int all = waiting == kThreads;
    if (all) tickets = kThreads / 2;
    pthread_cond_broadcast(&timed_cond);
    pthread_mutex_unlock(&timed_lock);
    if (all) break;
    usleep(1000);
  }
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  double elapsed = now_seconds() - start;
  CHECK_EQ(signalled, kThreads / 2);
  CHECK_EQ(timed_out, kThreads / 2);
  CHECK(elapsed >= 0.25 && elapsed < 10);

  /* A deadline already passed returns at once; a bad one is EINVAL. */
  struct timespec past = after(CLOCK_MONOTONIC, -1);
  pthread_mutex_lock(&timed_lock);
  CHECK_EQ(pthread_cond_timedwait(&timed_cond, &timed_lock, &past), ETIMEDOUT);
  struct timespec bad = {0, 2000000000L};
  CHECK_EQ(pthread_cond_timedwait(&timed_cond, &timed_lock, &bad), EINVAL);
  struct timespec soon = after(CLOCK_REALTIME, 0.01);
  CHECK_EQ(pthread_cond_clockwait(&timed_cond, &timed_lock, CLOCK_REALTIME, &soon), ETIMEDOUT);
  pthread_mutex_unlock(&timed_lock);
  CHECK_EQ(pthread_cond_destroy(&timed_cond), 0);
}

int main(void) {
  pthread_t threads[kThreads];
  for (long i = 0; i < kThreads; ++i)
    CHECK_EQ(pthread_create(&threads[i], NULL, i % 2 ? producer : consumer, (void*)(i / 2)), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  const long n = (long)(kThreads / 2) * kItems;
  CHECK_EQ(consumed, n);
  CHECK_EQ(consumed_sum, n * (n - 1) / 2);

  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, incrementer, NULL), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  CHECK_EQ(counter, kThreads * 20);

  mutex_types();
  timed_waits();
  CHECK(os_threads() <= 4);
  printf("mutex and condvar: ok\n");
  return 0;
}
