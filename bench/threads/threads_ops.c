/* Costs of pthread operations, for running natively and under green-run --threads:
 *   threads_ops [scale]
 * Prints one line per operation: name and nanoseconds per operation. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static long turn = 0, rounds = 0;

/* Two threads hand a token back and forth through a mutex and a condvar. */
static void* player(void* arg) {
  long me = (long)arg;
  pthread_mutex_lock(&m);
  for (long i = 0; i < rounds; ++i) {
    while (turn % 2 != me) pthread_cond_wait(&c, &m);
    ++turn;
    pthread_cond_signal(&c);
  }
  pthread_mutex_unlock(&m);
  return NULL;
}

static sem_t ping, pong;
static void* ponger(void* arg) {
  for (long i = 0; i < (long)arg; ++i) {
    sem_wait(&ping);
    sem_post(&pong);
  }
  return NULL;
}

static void* nothing(void* arg) { return arg; }

int main(int argc, char** argv) {
  long scale = argc > 1 ? atol(argv[1]) : 1;
  long n = 2000000 * scale;
  double t0 = now();
  for (long i = 0; i < n; ++i) {
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
  }
  printf("mutex lock+unlock, uncontended   %8.1f ns\n", (now() - t0) / (double)n);

  rounds = 100000 * scale;
  pthread_t a, b;
  t0 = now();
  pthread_create(&a, NULL, player, (void*)0);
  pthread_create(&b, NULL, player, (void*)1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("condvar hand-off (per pass)      %8.1f ns\n", (now() - t0) / (double)(2 * rounds));

  long passes = 100000 * scale;
  sem_init(&ping, 0, 0);
  sem_init(&pong, 0, 0);
  t0 = now();
  pthread_create(&a, NULL, ponger, (void*)passes);
  for (long i = 0; i < passes; ++i) {
    sem_post(&ping);
    sem_wait(&pong);
  }
  pthread_join(a, NULL);
  printf("semaphore ping-pong (round trip) %8.1f ns\n", (now() - t0) / (double)passes);

  long threads = 20000 * scale;
  t0 = now();
  for (long i = 0; i < threads; ++i) {
    pthread_t t;
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
  }
  printf("pthread_create + join            %8.1f ns\n", (now() - t0) / (double)threads);
  return 0;
}
