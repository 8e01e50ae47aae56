/* A program whose threads deadlock under --threads is stopped with a report on stderr
 * (abort) instead of hanging silently: run in a child process, checked by the parent. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_check.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_locked;

static void* lock_in_order(void* arg) {
  int first_a = arg != NULL;
  pthread_mutex_lock(first_a ? &a : &b);
  pthread_barrier_wait(&both_locked);
  pthread_mutex_lock(first_a ? &b : &a); /* never succeeds */
  return NULL;
}

int main(void) {
  int err[2];
  CHECK(pipe(err) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    dup2(err[1], STDERR_FILENO);
    pthread_barrier_init(&both_locked, NULL, 2);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, lock_in_order, (void*)1);
    pthread_create(&t2, NULL, lock_in_order, NULL);
    pthread_join(t1, NULL);
    _exit(0); /* not reached */
  }
  close(err[1]);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  char report[4096] = {0};
  size_t n = 0;
  ssize_t got;
  while (n < sizeof(report) - 1 && (got = read(err[0], report + n, sizeof(report) - 1 - n)) > 0) n += (size_t)got;
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(report, "deadlock") != NULL);
  CHECK(strstr(report, "pthread_mutex_lock") != NULL);
  printf("deadlock reported: %s", report);
  return 0;
}
