/* An ordinary C program for green-run's observation options: it sleeps (cooperatively
 * under green-run), then, as asked by its argument, computes without yielding ("spin")
 * or sends itself SIGUSR1 and sleeps on ("dump"). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((noinline)) spin(double seconds) {
  const double end = now() + seconds;
  while (now() < end) {
  }
}

int main(int argc, char** argv) {
  for (int i = 0; i < 10; ++i) usleep(1000);
  if (argc > 1 && strcmp(argv[1], "spin") == 0) spin(0.4);
  if (argc > 1 && strcmp(argv[1], "dump") == 0) {
    raise(SIGUSR1);
    usleep(200000);
  }
  printf("busy_sleeper: done\n");
  return 0;
}
