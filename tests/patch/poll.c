/* poll, ppoll, select, pselect and epoll_wait keep their meaning under green-run: a
 * timeout of 0 returns at once, a timeout expires after its time with 0, data written by
 * another thread wakes the waiter with the right revents/sets, a closed fd is POLLNVAL,
 * the signal masks of ppoll, pselect and epoll_pwait let a pending signal interrupt
 * them, and a forked child keeps working (its loop re-initialised). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", __FILE__,    \
              __LINE__, #cond, errno, strerror(errno));                        \
      return 1;                                                                \
    }                                                                          \
  } while (0)

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig) {
  (void)sig;
  ++usr1_seen;
}

static int writer_fd;
static void* write_later(void* arg) {
  (void)arg;
  usleep(50000);
  write(writer_fd, "x", 1);
  return NULL;
}

static pthread_t start_writer(int fd) {
  pthread_t t;
  writer_fd = fd;
  pthread_create(&t, NULL, write_later, NULL);
  return t;
}

int main(void) {
  int sv[2];
  char c;
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

  /* poll: 0 is immediate, a timeout expires, a write wakes, writable at once. */
  struct pollfd p = {sv[0], POLLIN, 0};
  double t0 = now();
  CHECK(poll(&p, 1, 0) == 0 && now() - t0 < 1.0);
  t0 = now();
  CHECK(poll(&p, 1, 60) == 0);
  CHECK(now() - t0 >= 0.055 && now() - t0 < 5);
  pthread_t t = start_writer(sv[1]);
  t0 = now();
  CHECK(poll(&p, 1, 5000) == 1 && p.revents == POLLIN);
  CHECK(now() - t0 >= 0.03);
  pthread_join(t, NULL);
  CHECK(read(sv[0], &c, 1) == 1);
  struct pollfd both[2] = {{sv[0], POLLIN, 0}, {sv[1], POLLOUT, 0}};
  CHECK(poll(both, 2, 1000) == 1 && both[0].revents == 0 && both[1].revents == POLLOUT);
  struct pollfd bad = {1000, POLLIN, 0};
  CHECK(poll(&bad, 1, 1000) == 1 && bad.revents == POLLNVAL);

  /* ppoll with a timespec. */
  struct timespec ts = {0, 60000000};
  t0 = now();
  CHECK(ppoll(&p, 1, &ts, NULL) == 0 && now() - t0 >= 0.055);

  /* The signal masks of ppoll, pselect and epoll_pwait: a blocked signal, pending when
   * the call is made, that the mask lets in interrupts it (EINTR after the handler ran),
   * as without green. (Without a mask, a greenlet's poll is never interrupted: the signal
   * storm of tests/faults/eintr_hooks.patch.cpp checks that.) */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  CHECK(sigprocmask(SIG_BLOCK, &usr1, &old_mask) == 0);
  CHECK(raise(SIGUSR1) == 0 && usr1_seen == 0);
  ts.tv_sec = 5;
  ts.tv_nsec = 0;
  t0 = now();
  CHECK(ppoll(&p, 1, &ts, &old_mask) == -1 && errno == EINTR && usr1_seen == 1 && now() - t0 < 4);
  CHECK(raise(SIGUSR1) == 0 && usr1_seen == 1);
  fd_set masked_r;
  FD_ZERO(&masked_r);
  FD_SET(sv[0], &masked_r);
  t0 = now();
  CHECK(pselect(sv[0] + 1, &masked_r, NULL, NULL, &ts, &old_mask) == -1 && errno == EINTR && usr1_seen == 2 &&
        now() - t0 < 4);
  CHECK(raise(SIGUSR1) == 0 && usr1_seen == 2);
  int masked_ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event masked_ev = {.events = EPOLLIN, .data.fd = sv[0]}, masked_out[1];
  CHECK(epoll_ctl(masked_ep, EPOLL_CTL_ADD, sv[0], &masked_ev) == 0);
  t0 = now();
  CHECK(epoll_pwait(masked_ep, masked_out, 1, 5000, &old_mask) == -1 && errno == EINTR && usr1_seen == 3 &&
        now() - t0 < 4);
  CHECK(close(masked_ep) == 0);
  CHECK(sigprocmask(SIG_SETMASK, &old_mask, NULL) == 0);
  ts.tv_sec = 0;
  ts.tv_nsec = 60000000;

  /* select: timeout, wake-up, sets rewritten, remaining time reported. */
  fd_set r;
  FD_ZERO(&r);
  FD_SET(sv[0], &r);
  struct timeval tv = {0, 60000};
  t0 = now();
  CHECK(select(sv[0] + 1, &r, NULL, NULL, &tv) == 0 && !FD_ISSET(sv[0], &r));
  CHECK(now() - t0 >= 0.055);
  t = start_writer(sv[1]);
  FD_ZERO(&r);
  FD_SET(sv[0], &r);
  tv.tv_sec = 5;
  tv.tv_usec = 0;
  CHECK(select(sv[0] + 1, &r, NULL, NULL, &tv) == 1 && FD_ISSET(sv[0], &r));
  CHECK(tv.tv_sec < 5 && tv.tv_sec >= 3);
  pthread_join(t, NULL);
  CHECK(read(sv[0], &c, 1) == 1);
  FD_ZERO(&r);
  FD_SET(sv[0], &r);
  ts.tv_sec = 0;
  ts.tv_nsec = 60000000;
  t0 = now();
  CHECK(pselect(sv[0] + 1, &r, NULL, NULL, &ts, NULL) == 0 && now() - t0 >= 0.055);

  /* epoll_wait. */
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = sv[0]}, out[4];
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0);
  t0 = now();
  CHECK(epoll_wait(ep, out, 4, 60) == 0 && now() - t0 >= 0.055);
  t = start_writer(sv[1]);
  CHECK(epoll_wait(ep, out, 4, 5000) == 1 && out[0].data.fd == sv[0] && (out[0].events & EPOLLIN));
  pthread_join(t, NULL);
  CHECK(read(sv[0], &c, 1) == 1);
  CHECK(close(ep) == 0);

  /* fork: the child's loop works (a cooperative read and sleep), the parent's too. */
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char buf[4];
    if (read(sv[1], buf, 4) != 4 || memcmp(buf, "ping", 4) != 0) _exit(3);
    usleep(10000);
    _exit(write(sv[1], "pong", 4) == 4 ? 0 : 4);
  }
  CHECK(write(sv[0], "ping", 4) == 4);
  char buf[4];
  CHECK(read(sv[0], buf, 4) == 4 && memcmp(buf, "pong", 4) == 0);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

  printf("poll family: ok\n");
  return 0;
}
