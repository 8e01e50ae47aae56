/* 1,000 threads printing with printf (yielding between lines) interleave whole lines only:
 * stdio's FILE lock is never held across a switch. stdout goes to a file that is read back
 * and checked line by line. */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>

#include "threads_check.h"

enum { kThreads = 1000, kLines = 5 };

static void* printer(void* arg) {
  long id = (long)arg;
  for (int line = 0; line < kLines; ++line) {
    printf("thread %04ld line %d: %s\n", id, line, "the quick brown fox jumps over the lazy dog");
    usleep((useconds_t)(id % 3) * 100);
  }
  return NULL;
}

int main(void) {
  char path[] = "/tmp/green-printf-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  CHECK(dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
  setvbuf(stdout, NULL, _IOLBF, 0);

  pthread_t threads[kThreads];
  for (long i = 0; i < kThreads; ++i) CHECK_EQ(pthread_create(&threads[i], NULL, printer, (void*)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);

  FILE* f = fopen(path, "r");
  CHECK(f != NULL);
  static int seen[kThreads];
  char line[256];
  int lines = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    long id;
    int n;
    char tail[128];
    CHECK(sscanf(line, "thread %4ld line %d: %127[^\n]", &id, &n, tail) == 3);
    CHECK(strcmp(tail, "the quick brown fox jumps over the lazy dog") == 0);
    CHECK(id >= 0 && id < kThreads);
    CHECK_EQ(n, seen[id]); /* each thread's lines in order */
    ++seen[id];
    ++lines;
  }
  fclose(f);
  unlink(path);
  CHECK_EQ(lines, kThreads * kLines);
  printf("1000 threads printing: %d whole lines\n", lines);
  return 0;
}
