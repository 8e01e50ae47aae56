/* pthread_create/join/detach/exit/self/equal, names, stack sizes, tryjoin and timedjoin
 * under --threads: ids are distinct per thread, results come back, errors are POSIX's. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "threads_check.h"

static pthread_t main_id;

static void* echo(void* arg) { return arg; }

static void* exits_early(void* arg) {
  pthread_exit((char*)arg + 1);
  return NULL; /* never reached */
}

static void* nested_exit_inner(void* arg) {
  pthread_exit(arg);
}
static void* nested_exit(void* arg) {
  nested_exit_inner(arg); /* pthread_exit from a deeper frame */
  return NULL;
}

static void* self_check(void* arg) {
  pthread_t me = pthread_self();
  CHECK(!pthread_equal(me, main_id));
  CHECK(pthread_equal(me, pthread_self()));
  CHECK_EQ(pthread_join(me, NULL), EDEADLK);
  *(pthread_t*)arg = me;
  usleep(1000);
  CHECK(pthread_equal(me, pthread_self()));
  return NULL;
}

static void* uses_stack(void* arg) {
  /* Touch most of a 1 MiB stack: the default greenlet stack would overflow. */
  volatile char big[900 * 1024];
  for (size_t i = 0; i < sizeof(big); i += 4096) big[i] = (char)i;
  pthread_attr_t attr;
  size_t size = 0;
  CHECK_EQ(pthread_getattr_np(pthread_self(), &attr), 0);
  CHECK_EQ(pthread_attr_getstacksize(&attr, &size), 0);
  pthread_attr_destroy(&attr);
  *(size_t*)arg = size;
  return (void*)(long)big[4096];
}

static void* slow(void* arg) {
  usleep(100000);
  return arg;
}

static volatile int detached_ran = 0;
static void* detached(void* arg) {
  (void)arg;
  usleep(1000);
  detached_ran = 1;
  return NULL;
}

static void* named(void* arg) {
  (void)arg;
  char name[16];
  CHECK_EQ(pthread_setname_np(pthread_self(), "worker-7"), 0);
  CHECK_EQ(pthread_getname_np(pthread_self(), name, sizeof(name)), 0);
  CHECK(strcmp(name, "worker-7") == 0);
  CHECK_EQ(pthread_setname_np(pthread_self(), "a name far too long"), ERANGE);
  CHECK_EQ(pthread_kill(pthread_self(), 0), 0);
  return NULL;
}

int main(void) {
  main_id = pthread_self();
  void* result = NULL;

  pthread_t t;
  int value = 42;
  CHECK_EQ(pthread_create(&t, NULL, echo, &value), 0);
  CHECK_EQ(pthread_join(t, &result), 0);
  CHECK(result == &value);

  char text[4] = "abc";
  CHECK_EQ(pthread_create(&t, NULL, exits_early, text), 0);
  CHECK_EQ(pthread_join(t, &result), 0);
  CHECK(result == text + 1);

  CHECK_EQ(pthread_create(&t, NULL, nested_exit, text), 0);
  CHECK_EQ(pthread_join(t, &result), 0);
  CHECK(result == text);

  pthread_t seen[2], ids[2];
  for (int i = 0; i < 2; ++i) CHECK_EQ(pthread_create(&ids[i], NULL, self_check, &seen[i]), 0);
  for (int i = 0; i < 2; ++i) CHECK_EQ(pthread_join(ids[i], NULL), 0);
  CHECK(pthread_equal(seen[0], ids[0]) && pthread_equal(seen[1], ids[1]));
  CHECK(!pthread_equal(ids[0], ids[1]));

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  CHECK_EQ(pthread_attr_setstacksize(&attr, 2 * 1024 * 1024), 0);
  size_t stack = 0;
  CHECK_EQ(pthread_create(&t, &attr, uses_stack, &stack), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK(stack >= 2 * 1024 * 1024);
  pthread_attr_destroy(&attr);

  CHECK_EQ(pthread_create(&t, NULL, slow, &value), 0);
  CHECK_EQ(pthread_tryjoin_np(t, &result), EBUSY);
  struct timespec soon = after(CLOCK_REALTIME, 0.01);
  CHECK_EQ(pthread_timedjoin_np(t, &result, &soon), ETIMEDOUT);
  struct timespec later = after(CLOCK_REALTIME, 10);
  CHECK_EQ(pthread_timedjoin_np(t, &result, &later), 0);
  CHECK(result == &value);

  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  CHECK_EQ(pthread_create(&t, &attr, detached, NULL), 0);
  pthread_attr_destroy(&attr);
  CHECK_EQ(pthread_join(t, NULL), EINVAL);
  CHECK_EQ(pthread_create(&t, NULL, detached, NULL), 0);
  CHECK_EQ(pthread_detach(t), 0);
  while (!detached_ran) usleep(1000);

  CHECK_EQ(pthread_create(&t, NULL, named, NULL), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK_EQ(pthread_kill(t, 0), ESRCH); /* joined: gone */

  CHECK(os_threads() <= 4);
  printf("thread API: ok\n");
  /* pthread_exit in main waits for the other threads, then the process exits with 0. */
  CHECK_EQ(pthread_create(&t, NULL, slow, NULL), 0);
  pthread_detach(t);
  pthread_exit(NULL);
}
