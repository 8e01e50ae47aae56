/* Echo load generator: N persistent connections, each sends a message of SIZE bytes and
 * waits for it to come back before sending the next. Counts round trips per second over a
 * measured window after a warm-up, and checks every byte echoed.
 *
 *   loadgen PORT CONNECTIONS SECONDS [SIZE=64]
 *
 * One thread, level-triggered epoll: the client must not be what limits the server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  unsigned seq;      /* pattern seed of the message in flight */
  int received;      /* bytes of it echoed so far */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(char* buf, int size, unsigned seed) {
  for (int i = 0; i < size; ++i) buf[i] = (char)(seed * 31 + i);
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void send_message(struct conn* c, int size) {
  char buf[65536];
  fill(buf, size, c->seq);
  int sent = 0;
  while (sent < size) { /* 64 bytes into an empty socket buffer: one write */
    ssize_t n = write(c->fd, buf + sent, size - sent);
    if (n < 0) {
      if (errno == EAGAIN) continue;
      die("write");
    }
    sent += n;
  }
  c->received = 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen PORT CONNECTIONS SECONDS [SIZE]\n");
    return 2;
  }
  int port = atoi(argv[1]), count = atoi(argv[2]);
  double seconds = atof(argv[3]);
  int size = argc > 4 ? atoi(argv[4]) : 64;
  if (count <= 0 || size <= 0 || size > 65536 || seconds <= 0) {
    fprintf(stderr, "loadgen: bad arguments\n");
    return 2;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);

  int ep = epoll_create1(0);
  struct conn* conns = calloc(count, sizeof *conns);
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    for (int attempt = 0;; ++attempt) { /* a full accept backlog: retry for a while */
      if (connect(fd, (struct sockaddr*)&addr, sizeof addr) == 0) break;
      if (attempt > 200) die("connect");
      usleep(10000);
      close(fd);
      fd = socket(AF_INET, SOCK_STREAM, 0);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conns[i].fd = fd;
    conns[i].seq = (unsigned)i;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  for (int i = 0; i < count; ++i) send_message(&conns[i], size);

  const double warmup = 0.5;
  double start = now(), measure_start = start + warmup, end = measure_start + seconds;
  long long trips = 0;
  int measuring = 0;
  struct epoll_event events[1024];
  char buf[65536], expect[65536];
  for (;;) {
    int n = epoll_wait(ep, events, 1024, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      ssize_t got = read(c->fd, buf, size - c->received);
      if (got == 0) {
        fprintf(stderr, "loadgen: the server closed a connection\n");
        return 1;
      }
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        die("read");
      }
      fill(expect, size, c->seq);
      if (memcmp(buf, expect + c->received, got) != 0) {
        fprintf(stderr, "loadgen: wrong bytes echoed\n");
        return 1;
      }
      c->received += got;
      if (c->received == size) {
        if (measuring) ++trips;
        c->seq += 7919;
        send_message(c, size);
      }
    }
    double t = now();
    if (!measuring && t >= measure_start) {
      measuring = 1;
      measure_start = t;
    }
    if (t >= end) {
      printf("%.0f\n", trips / (t - measure_start));
      return 0;
    }
  }
}
