/* An interpreter nobody here wrote: python3's threading (Thread, Lock, Condition, Queue,
 * Event, Timer, Semaphore, Barrier) under --threads gives the same output as without the
 * patch layer, with its 100 threads on at most 4 OS threads. Skipped without python3. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_check.h"

static const char* kProgram =
    "import threading, queue, time\n"
    "q = queue.Queue(maxsize=4)\n"
    "total = []\n"
    "lock = threading.Lock()\n"
    "sem = threading.Semaphore(3)\n"
    "barrier = threading.Barrier(50)\n"
    "inside = [0, 0]\n"
    "os_threads = [0]\n"
    "def count_os_threads():\n"
    "    n = int(open('/proc/self/status').read().split('Threads:')[1].split()[0])\n"
    "    os_threads[0] = max(os_threads[0], n)\n"
    "def producer(i):\n"
    "    for k in range(20): q.put(i * 100 + k)\n"
    "def consumer():\n"
    "    for _ in range(20):\n"
    "        v = q.get()\n"
    "        with lock: total.append(v)\n"
    "def limited():\n"
    "    barrier.wait()\n"
    "    count_os_threads()\n"
    "    with sem:\n"
    "        with lock: inside[0] += 1; inside[1] = max(inside[1], inside[0])\n"
    "        time.sleep(0.002)\n"
    "        with lock: inside[0] -= 1\n"
    "ts = [threading.Thread(target=producer, args=(i,)) for i in range(25)]\n"
    "ts += [threading.Thread(target=consumer) for _ in range(25)]\n"
    "ts += [threading.Thread(target=limited) for _ in range(50)]\n"
    "for t in ts: t.start()\n"
    "for t in ts: t.join()\n"
    "ev = threading.Event()\n"
    "threading.Timer(0.02, ev.set).start()\n"
    "cond = threading.Condition()\n"
    "with cond: woke = cond.wait(timeout=0.05)\n"
    "print(sorted(total) == sorted(i * 100 + k for i in range(25) for k in range(20)), ev.wait(5), woke,\n"
    "      inside[1] <= 3, threading.active_count())\n"
    "print('os threads', os_threads[0])\n";

/* Runs python3 -c kProgram with or without the preload; returns its output. */
static char* run(int patched) {
  int out[2];
  CHECK(pipe(out) == 0);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    if (!patched) unsetenv("LD_PRELOAD");
    execlp("python3", "python3", "-c", kProgram, (char*)NULL);
    _exit(127);
  }
  close(out[1]);
  static char buffers[2][256];
  char* buf = buffers[patched];
  size_t n = 0;
  ssize_t got;
  while (n < 255 && (got = read(out[0], buf + n, 255 - n)) > 0) n += (size_t)got;
  buf[n] = '\0';
  close(out[0]);
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return NULL;
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return buf;
}

int main(void) {
  char* native = run(0);
  if (native == NULL) {
    printf("python threads: skipped (no python3)\n");
    return 0;
  }
  char* green = run(1);
  CHECK(green != NULL);
  /* The first line is the program's results; the second its peak OS thread count. */
  char* native_threads = strchr(native, '\n');
  char* green_threads = strchr(green, '\n');
  CHECK(native_threads != NULL && green_threads != NULL);
  *native_threads++ = '\0';
  *green_threads++ = '\0';
  if (strcmp(native, green) != 0) {
    fprintf(stderr, "native: %s\ngreen:  %s\n", native, green);
    return 1;
  }
  CHECK(strcmp(green, "True True False True 1") == 0);
  int n = -1;
  CHECK(sscanf(green_threads, "os threads %d", &n) == 1);
  CHECK(n >= 1 && n <= 4);
  printf("python threads under --threads: %s; %s", green, green_threads);
  return 0;
}
