/* fork from a thread under --threads: the child runs and exits, the parent's threads go on. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_check.h"

static void* forker(void* arg) {
  (void)arg;
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    const char msg[] = "child";
    CHECK(write(p[1], msg, sizeof(msg)) == (ssize_t)sizeof(msg));
    _exit(7);
  }
  close(p[1]);
  char buf[16] = {0};
  CHECK(read(p[0], buf, sizeof(buf)) > 0);
  CHECK(strcmp(buf, "child") == 0);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
  close(p[0]);
  return NULL;
}

static void* sleeper(void* arg) {
  usleep(20000);
  return arg;
}

int main(void) {
  pthread_t f, s;
  CHECK_EQ(pthread_create(&s, NULL, sleeper, NULL), 0);
  CHECK_EQ(pthread_create(&f, NULL, forker, NULL), 0);
  CHECK_EQ(pthread_join(f, NULL), 0);
  CHECK_EQ(pthread_join(s, NULL), 0);
  printf("fork from a thread: ok\n");
  return 0;
}
