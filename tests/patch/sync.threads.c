/* rwlocks, semaphores, barriers, once and keys under --threads, 64 threads each. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include "threads_check.h"

enum { kThreads = 64 };

static void run_all(void* (*fn)(void*)) {
  pthread_t threads[kThreads];
  for (long i = 0; i < kThreads; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, fn, (void*)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
}

/* ---- rwlock: readers overlap, writers are alone ---- */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int readers = 0, writers = 0, max_readers = 0, value = 0;

static void* rw_user(void* arg) {
  long i = (long)arg;
  for (int round = 0; round < 10; ++round) {
    if (i % 4 == 0) {
      CHECK_EQ(pthread_rwlock_wrlock(&rw), 0);
      CHECK_EQ(writers, 0);
      CHECK_EQ(readers, 0);
      ++writers;
      int seen = value;
      usleep(200);
      value = seen + 1;
      --writers;
      CHECK_EQ(pthread_rwlock_unlock(&rw), 0);
    } else {
      CHECK_EQ(pthread_rwlock_rdlock(&rw), 0);
      CHECK_EQ(writers, 0);
      if (++readers > max_readers) max_readers = readers;
      usleep(200);
      --readers;
      CHECK_EQ(pthread_rwlock_unlock(&rw), 0);
    }
  }
  return NULL;
}

static void* rw_blocked(void* arg) {
  (void)arg;
  /* main holds the write lock */
  CHECK_EQ(pthread_rwlock_tryrdlock(&rw), EBUSY);
  CHECK_EQ(pthread_rwlock_trywrlock(&rw), EBUSY);
  struct timespec soon = after(CLOCK_REALTIME, 0.02);
  CHECK_EQ(pthread_rwlock_timedrdlock(&rw, &soon), ETIMEDOUT);
  struct timespec later = after(CLOCK_MONOTONIC, 10);
  CHECK_EQ(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &later), 0);
  CHECK_EQ(pthread_rwlock_unlock(&rw), 0);
  return NULL;
}

static void rwlocks(void) {
  run_all(rw_user);
  CHECK_EQ(value, kThreads / 4 * 10);
  CHECK(max_readers > 1);
  CHECK_EQ(pthread_rwlock_wrlock(&rw), 0);
  CHECK_EQ(pthread_rwlock_rdlock(&rw), EDEADLK);
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, rw_blocked, NULL), 0);
  usleep(100000);
  CHECK_EQ(pthread_rwlock_unlock(&rw), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
}

/* ---- semaphore: at most 4 inside at once ---- */
static sem_t slots, done_sem;
static pthread_mutex_t sem_lock = PTHREAD_MUTEX_INITIALIZER;
static int in_section = 0, max_in_section = 0;

static void* sem_user(void* arg) {
  (void)arg;
  CHECK_EQ(sem_wait(&slots), 0);
  pthread_mutex_lock(&sem_lock);
  if (++in_section > max_in_section) max_in_section = in_section;
  pthread_mutex_unlock(&sem_lock);
  usleep(2000);
  pthread_mutex_lock(&sem_lock);
  --in_section;
  pthread_mutex_unlock(&sem_lock);
  CHECK_EQ(sem_post(&slots), 0);
  CHECK_EQ(sem_post(&done_sem), 0);
  return NULL;
}

static void semaphores(void) {
  CHECK_EQ(sem_init(&slots, 0, 4), 0);
  CHECK_EQ(sem_init(&done_sem, 0, 0), 0);
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, sem_user, NULL), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(sem_wait(&done_sem), 0); /* main waits on the semaphore */
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  CHECK_EQ(max_in_section, 4);
  int v = -1;
  CHECK_EQ(sem_getvalue(&slots, &v), 0);
  CHECK_EQ(v, 4);
  CHECK_EQ(sem_trywait(&done_sem), -1);
  CHECK_EQ(errno, EAGAIN);
  struct timespec soon = after(CLOCK_REALTIME, 0.02);
  errno = 0;
  CHECK_EQ(sem_timedwait(&done_sem, &soon), -1);
  CHECK_EQ(errno, ETIMEDOUT);
  struct timespec soon_mono = after(CLOCK_MONOTONIC, 0.02);
  errno = 0;
  CHECK_EQ(sem_clockwait(&done_sem, CLOCK_MONOTONIC, &soon_mono), -1);
  CHECK_EQ(errno, ETIMEDOUT);
  sem_destroy(&slots);
  sem_destroy(&done_sem);
}

/* ---- barrier: three rounds, nobody passes before everyone arrived ---- */
static pthread_barrier_t barrier;
static int arrivals[3];
static int serial_count = 0;

static void* barrier_user(void* arg) {
  long i = (long)arg;
  for (int round = 0; round < 3; ++round) {
    usleep((useconds_t)(i % 7) * 300);
    __atomic_fetch_add(&arrivals[round], 1, __ATOMIC_SEQ_CST);
    int r = pthread_barrier_wait(&barrier);
    CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_fetch_add(&serial_count, 1, __ATOMIC_SEQ_CST);
    CHECK_EQ(__atomic_load_n(&arrivals[round], __ATOMIC_SEQ_CST), kThreads);
  }
  return NULL;
}

static void barriers(void) {
  CHECK_EQ(pthread_barrier_init(&barrier, NULL, 0), EINVAL);
  CHECK_EQ(pthread_barrier_init(&barrier, NULL, kThreads), 0);
  run_all(barrier_user);
  CHECK_EQ(serial_count, 3);
  CHECK_EQ(pthread_barrier_destroy(&barrier), 0);
}

/* ---- once: the init runs once, even when it yields; everyone sees it done ---- */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_runs = 0, initialised = 0;

static void init_once(void) {
  ++init_runs;
  usleep(20000); /* the other threads arrive meanwhile and must wait */
  initialised = 1;
}

static void* once_user(void* arg) {
  (void)arg;
  CHECK_EQ(pthread_once(&once, init_once), 0);
  CHECK_EQ(initialised, 1);
  return NULL;
}

/* ---- keys: a value per thread, destructors at thread exit ---- */
static pthread_key_t key;
static int destructed = 0;
static long destructed_sum = 0;

static void destroy_value(void* v) {
  ++destructed;
  destructed_sum += *(long*)v;
  free(v);
}

static void* key_user(void* arg) {
  CHECK(pthread_getspecific(key) == NULL);
  long* mine = malloc(sizeof(long));
  *mine = (long)arg;
  CHECK_EQ(pthread_setspecific(key, mine), 0);
  usleep(1000); /* the others set theirs meanwhile */
  CHECK(pthread_getspecific(key) == mine);
  return NULL;
}

static void keys(void) {
  CHECK_EQ(pthread_key_create(&key, destroy_value), 0);
  long main_value = -1;
  CHECK_EQ(pthread_setspecific(key, &main_value), 0);
  run_all(key_user);
  CHECK(pthread_getspecific(key) == &main_value);
  CHECK_EQ(destructed, kThreads);
  CHECK_EQ(destructed_sum, (long)kThreads * (kThreads - 1) / 2);
  CHECK_EQ(pthread_setspecific(key, NULL), 0);
  CHECK_EQ(pthread_key_delete(key), 0);
}

int main(void) {
  rwlocks();
  semaphores();
  barriers();
  run_all(once_user);
  CHECK_EQ(init_runs, 1);
  keys();
  CHECK(os_threads() <= 4);
  printf("rwlock, semaphore, barrier, once, keys: ok\n");
  return 0;
}
