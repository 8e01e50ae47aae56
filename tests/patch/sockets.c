/* Blocking sockets keep their contract under green-run: SO_RCVTIMEO times out with EAGAIN,
 * a socket the program made non-blocking returns EAGAIN at once, F_GETFL shows only the
 * O_NONBLOCK the program set (fcntl, ioctl FIONBIO, SOCK_NONBLOCK, accept4, pipe2, dup),
 * connect to a closed port is ECONNREFUSED, EOF is EOF, and data written by another
 * thread wakes a blocked recv. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
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

static int nonblock(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

static int listener(struct sockaddr_in* addr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  socklen_t len = sizeof(*addr);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)addr, sizeof(*addr)) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr*)addr, &len) != 0)
    return -1;
  return fd;
}

static void* write_later(void* arg) {
  usleep(50000);
  write(*(int*)arg, "x", 1);
  return NULL;
}

int main(void) {
  int sv[2];
  char buf[16];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

  /* F_GETFL: the program never asked for O_NONBLOCK. */
  CHECK(!nonblock(sv[0]) && !nonblock(sv[1]));

  /* SO_RCVTIMEO: EAGAIN after the timeout, not at once, not never. */
  struct timeval tv = {0, 100000};
  CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
  struct timeval got;
  socklen_t got_len = sizeof(got);
  CHECK(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &got_len) == 0 && got.tv_usec == 100000);
  double t0 = now();
  errno = 0;
  CHECK(recv(sv[0], buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
  double waited = now() - t0;
  CHECK(waited >= 0.09 && waited < 5.0);
  errno = 0;
  CHECK(read(sv[0], buf, sizeof(buf)) == -1 && errno == EAGAIN);

  /* dup copies the timeout. */
  int copy = dup(sv[0]);
  CHECK(copy >= 0);
  t0 = now();
  CHECK(recv(copy, buf, sizeof(buf), 0) == -1 && errno == EAGAIN && now() - t0 >= 0.09);
  CHECK(close(copy) == 0);

  /* User O_NONBLOCK via fcntl: EAGAIN at once; F_GETFL shows it; clearing it hides it. */
  int flags = fcntl(sv[1], F_GETFL);
  CHECK(fcntl(sv[1], F_SETFL, flags | O_NONBLOCK) == 0);
  CHECK(nonblock(sv[1]));
  t0 = now();
  errno = 0;
  CHECK(read(sv[1], buf, sizeof(buf)) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
  CHECK(now() - t0 < 1.0); /* no timeout is set: without O_NONBLOCK it would block for good */
  int dup_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 100);
  CHECK(dup_fd >= 100 && nonblock(dup_fd));
  CHECK(close(dup_fd) == 0);
  CHECK(fcntl(sv[1], F_SETFL, flags) == 0);
  CHECK(!nonblock(sv[1]));

  /* ioctl FIONBIO. */
  int on = 1, off = 0;
  CHECK(ioctl(sv[1], FIONBIO, &on) == 0 && nonblock(sv[1]));
  errno = 0;
  CHECK(recv(sv[1], buf, sizeof(buf), 0) == -1 && errno == EAGAIN);
  CHECK(ioctl(sv[1], FIONBIO, &off) == 0 && !nonblock(sv[1]));

  /* A blocked read wakes when another thread writes. */
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, write_later, &sv[0]) == 0);
  t0 = now();
  CHECK(read(sv[1], buf, sizeof(buf)) == 1 && buf[0] == 'x');
  CHECK(now() - t0 >= 0.03);
  CHECK(pthread_join(thread, NULL) == 0);

  /* EOF is EOF. */
  CHECK(write(sv[0], "abc", 3) == 3);
  CHECK(shutdown(sv[0], SHUT_WR) == 0);
  CHECK(read(sv[1], buf, sizeof(buf)) == 3 && memcmp(buf, "abc", 3) == 0);
  CHECK(read(sv[1], buf, sizeof(buf)) == 0);
  CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);

  /* SOCK_NONBLOCK and pipe2 flags show in F_GETFL; plain pipes do not. */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(s >= 0 && nonblock(s));
  CHECK(close(s) == 0);
  int p[2];
  CHECK(pipe(p) == 0 && !nonblock(p[0]) && !nonblock(p[1]));
  CHECK(close(p[0]) == 0 && close(p[1]) == 0);
  CHECK(pipe2(p, O_NONBLOCK) == 0 && nonblock(p[0]) && nonblock(p[1]));
  CHECK(close(p[0]) == 0 && close(p[1]) == 0);

  /* TCP: accept4 flags, data both ways, then ECONNREFUSED once the listener is gone. */
  struct sockaddr_in addr;
  int lfd = listener(&addr);
  CHECK(lfd >= 0);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(connect(c, (struct sockaddr*)&addr, sizeof(addr)) == 0);
  CHECK(!nonblock(c));
  int a = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  CHECK(a >= 0 && nonblock(a));
  int b = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(connect(b, (struct sockaddr*)&addr, sizeof(addr)) == 0);
  int a2 = accept(lfd, NULL, NULL);
  CHECK(a2 >= 0 && !nonblock(a2));
  CHECK(send(c, "ping", 4, 0) == 4);
  struct pollfd pfd = {a, POLLIN, 0};
  CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN));
  CHECK(recv(a, buf, 4, 0) == 4 && memcmp(buf, "ping", 4) == 0);
  /* MSG_WAITALL waits for the whole buffer, written in two parts by another thread. */
  CHECK(send(b, "po", 2, 0) == 2);
  pthread_t later;
  CHECK(pthread_create(&later, NULL, write_later, &b) == 0);
  CHECK(recv(a2, buf, 3, MSG_WAITALL) == 3 && memcmp(buf, "pox", 3) == 0);
  CHECK(pthread_join(later, NULL) == 0);
  CHECK(close(lfd) == 0);
  int r = socket(AF_INET, SOCK_STREAM, 0);
  errno = 0;
  CHECK(connect(r, (struct sockaddr*)&addr, sizeof(addr)) == -1 && errno == ECONNREFUSED);
  CHECK(close(r) == 0 && close(a) == 0 && close(a2) == 0 && close(b) == 0 && close(c) == 0);

  printf("sockets: ok\n");
  return 0;
}
