/* Under --threads, objects shared with a real OS thread (here one made with libc's own
 * pthread_create, as green's workers or a library's early threads are) keep working both
 * ways: mutexes, condition variables and semaphores wake greenlets from the real thread and
 * the real thread from greenlets. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include "threads_check.h"

enum { kGreen = 16, kItems = 200 };

typedef int (*create_fn)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t to_green = PTHREAD_COND_INITIALIZER, to_real = PTHREAD_COND_INITIALIZER;
static int for_green = 0, for_real = 0, green_got = 0, real_got = 0;
static sem_t green_sem, real_sem;

static void* real_thread(void* arg) {
  (void)arg;
  /* Hold the mutex a while: greenlets queue on it meanwhile. */
  pthread_mutex_lock(&lock);
  usleep(50000);
  pthread_mutex_unlock(&lock);
  /* Hand items to the greenlets, take items from them. */
  for (int i = 0; i < kItems * kGreen; ++i) {
    pthread_mutex_lock(&lock);
    ++for_green;
    pthread_cond_signal(&to_green);
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  while (real_got < kItems * kGreen) {
    while (for_real == 0) pthread_cond_wait(&to_real, &lock); /* glibc's own wait */
    --for_real;
    ++real_got;
  }
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < kGreen; ++i) CHECK_EQ(sem_post(&green_sem), 0);
  for (int i = 0; i < kGreen; ++i) CHECK_EQ(sem_wait(&real_sem), 0);
  return NULL;
}

static void* green_thread(void* arg) {
  (void)arg;
  for (int i = 0; i < kItems; ++i) {
    pthread_mutex_lock(&lock);
    while (for_green == 0) pthread_cond_wait(&to_green, &lock);
    --for_green;
    ++green_got;
    ++for_real;
    pthread_cond_signal(&to_real);
    pthread_mutex_unlock(&lock);
  }
  CHECK_EQ(sem_wait(&green_sem), 0);
  CHECK_EQ(sem_post(&real_sem), 0);
  return NULL;
}

int main(void) {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  CHECK(libc != NULL);
  create_fn real_create = (create_fn)dlsym(libc, "pthread_create");
  CHECK(real_create != NULL);
  CHECK_EQ(sem_init(&green_sem, 0, 0), 0);
  CHECK_EQ(sem_init(&real_sem, 0, 0), 0);

  pthread_t greens[kGreen];
  for (int i = 0; i < kGreen; ++i) CHECK_EQ(pthread_create(&greens[i], NULL, green_thread, NULL), 0);
  pthread_t real;
  CHECK_EQ(real_create(&real, NULL, real_thread, NULL), 0);
  for (int i = 0; i < kGreen; ++i) CHECK_EQ(pthread_join(greens[i], NULL), 0);
  CHECK_EQ(pthread_join(real, NULL), 0); /* a real thread's id passes through */
  CHECK_EQ(green_got, kItems * kGreen);
  CHECK_EQ(real_got, kItems * kGreen);
  printf("greenlets and a real thread sharing mutex, condvars, semaphores: ok\n");
  return 0;
}
