// main returns while detached threads wait on a condvar, a mutex and a semaphore, and a
// global's destructor (run by exit(), after green has abandoned those threads) then
// broadcasts, unlocks and posts: the process ends normally, as with real threads.
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>

#include "threads_check.h"

namespace {
pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t c = PTHREAD_COND_INITIALIZER;
sem_t s;
bool stop = false;
int waiting = 0;

struct Pool {
  ~Pool() {
    pthread_mutex_lock(&m);
    stop = true;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&held);
    for (int i = 0; i < 10; ++i) sem_post(&s);
    std::fputs("exit while threads wait: ok\n", stderr);
  }
} pool;

void* on_cond(void*) {
  pthread_mutex_lock(&m);
  ++waiting;
  while (!stop) pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return nullptr;
}
void* on_mutex(void*) {
  __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_lock(&held);
  pthread_mutex_unlock(&held);
  return nullptr;
}
void* on_sem(void*) {
  __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
  sem_wait(&s);
  return nullptr;
}
}  // namespace

int main() {
  CHECK(sem_init(&s, 0, 0) == 0);
  pthread_mutex_lock(&held);
  for (auto* fn : {on_cond, on_mutex, on_sem})
    for (int i = 0; i < 10; ++i) {
      pthread_t t;
      CHECK(pthread_create(&t, nullptr, fn, nullptr) == 0);
      pthread_detach(t);
    }
  while (__atomic_load_n(&waiting, __ATOMIC_SEQ_CST) < 30) usleep(1000);
  return 0;
}
