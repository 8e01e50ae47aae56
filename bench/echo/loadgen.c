// Echo load generator: `conns` persistent TCP connections, each with one 64-byte message
// in flight at a time (send, wait for all 64 bytes back, send again), driven by one
// thread with epoll. Prints round trips per second over the measured interval, then the
// round trips of the whole run (warm-up included). With ROUNDS > 0, each connection makes
// exactly ROUNDS round trips instead (no warm-up, no time limit): a fixed amount of work
// for instruction counts (valgrind --tool=callgrind on the server; see bench/README.md).
//   loadgen PORT CONNS SECONDS [WARMUP_SECONDS [ROUNDS]]
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

enum { kMsg = 64 };

struct conn {
  int fd;
  int got;     // bytes of the current echo received
  long done;   // round trips completed
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_one(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  for (int attempt = 0; attempt < 500; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr*)&a, sizeof(a)) == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    }
    close(fd);
    usleep(10000);  // the server is starting, or its backlog is full
  }
  perror("loadgen: connect");
  exit(1);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen PORT CONNS SECONDS [WARMUP [ROUNDS]]\n");
    return 2;
  }
  const int port = atoi(argv[1]), n = atoi(argv[2]);
  const double seconds = atof(argv[3]), warmup = argc > 4 ? atof(argv[4]) : 1.0;
  const long rounds = argc > 5 ? atol(argv[5]) : 0;
  char msg[kMsg], buf[kMsg];
  for (int i = 0; i < kMsg; ++i) msg[i] = (char)('a' + i % 26);
  struct conn* conns = calloc(n, sizeof(*conns));
  int ep = epoll_create1(0);
  for (int i = 0; i < n; ++i) {
    conns[i].fd = connect_one(port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  for (int i = 0; i < n; ++i)
    if (write(conns[i].fd, msg, kMsg) != kMsg) {
      perror("loadgen: write");
      return 1;
    }
  struct epoll_event events[1024];
  long count = 0, total = 0;
  double start = now(), measure_from = start + warmup, end = measure_from + seconds;
  int measuring = 0, active = n;
  if (rounds > 0) measuring = 1;
  for (;;) {
    if (rounds > 0 && active == 0) break;
    int k = epoll_wait(ep, events, 1024, 1000);
    double t = now();
    if (rounds > 0) end = t + 1e9;
    if (!measuring && t >= measure_from) {
      measuring = 1;
      count = 0;
      measure_from = t;
      end = t + seconds;
    }
    if (measuring && t >= end) break;
    for (int i = 0; i < k; ++i) {
      struct conn* c = events[i].data.ptr;
      ssize_t r = read(c->fd, buf, kMsg - c->got);
      if (r <= 0) {
        fprintf(stderr, "loadgen: connection closed by the server\n");
        return 1;
      }
      if (memcmp(buf, msg + c->got, r) != 0) {
        fprintf(stderr, "loadgen: the server echoed different bytes\n");
        return 1;
      }
      c->got += r;
      if (c->got == kMsg) {
        c->got = 0;
        ++count;
        ++total;
        if (rounds > 0 && ++c->done == rounds) {
          --active;
          continue;
        }
        if (write(c->fd, msg, kMsg) != kMsg) {
          perror("loadgen: write");
          return 1;
        }
      }
    }
  }
  printf("%.0f %ld\n", count / (now() - measure_from), total);
  return 0;
}
