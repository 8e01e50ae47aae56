// Soak client for an echo server: CONNS connections, each with one message in flight at a
// time, every byte checked. A message is a 16-byte header (connection, generation,
// sequence number) and a body derived from it, 1 byte to 64 KiB long, so the echo can be
// checked without keeping a copy. Connections are churned: after a message, one in CHURN
// closes (half of them with a reset) and a new one takes its slot, so the server's accept
// and close paths run all along. One thread, epoll, non-blocking sockets.
//
//   soak_client PORT CONNS SECONDS [RATE [CHURN]]
//     RATE: messages started per second over all connections (0: as fast as echoes come
//           back; default 10000). CHURN: 1 in CHURN messages ends its connection (0: never;
//           default 200).
// Prints a progress line every 10 s and a summary at the end. Exit status 0 only if every
// echo matched, no connection was lost, and every message came back.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kHeader = 16, kMaxMsg = 64 * 1024, kStallSeconds = 60 };

struct conn {
  int fd;
  uint32_t id, gen;
  uint64_t seq;
  uint32_t len, sent, got;  // the message in flight: its length, bytes written, bytes echoed
  int connecting, in_flight, queued, want_out;
  double sent_at;
  struct conn* next_queued;  // waiting for its turn to send (the rate limit)
};

static int port, n_conns, churn;
static double rate;
static int ep;
static struct conn* conns;
static struct conn *queue_head, *queue_tail;
static long messages, reconnects, resets;
static unsigned long long bytes;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t rnd(void) { return mix(rng_state++); }

static uint64_t message_key(const struct conn* c) {
  return mix(((uint64_t)c->id << 32 | c->gen) ^ mix(c->seq));
}

// Byte `i` of the connection's current message.
static unsigned char message_byte(const struct conn* c, uint64_t key, uint32_t i) {
  if (i < 4) return (unsigned char)(c->id >> (8 * i));
  if (i < 8) return (unsigned char)(c->gen >> (8 * (i - 4)));
  if (i < 16) return (unsigned char)(c->seq >> (8 * (i - 8)));
  return (unsigned char)(mix(key + i / 8) >> (8 * (i % 8)));
}

static void fail(const struct conn* c, const char* what) {
  fprintf(stderr, "soak_client: FAIL: %s (connection %u, generation %u, message %llu, length %u, sent %u, echoed %u)\n",
          what, c->id, c->gen, (unsigned long long)c->seq, c->len, c->sent, c->got);
  exit(1);
}

static void watch(struct conn* c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, op, c->fd, &ev) != 0) {
    perror("soak_client: epoll_ctl");
    exit(1);
  }
}

static void enqueue(struct conn* c);

static void open_conn(struct conn* c) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    perror("soak_client: socket");
    exit(1);
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ++c->gen;
  c->seq = 0;
  c->in_flight = 0;
  c->connecting = connect(c->fd, (struct sockaddr*)&a, sizeof(a)) != 0;
  if (c->connecting && errno != EINPROGRESS) fail(c, strerror(errno));
  c->want_out = c->connecting;
  watch(c, c->connecting ? EPOLLOUT : EPOLLIN, EPOLL_CTL_ADD);
  if (!c->connecting) enqueue(c);
}

static void enqueue(struct conn* c) {
  c->queued = 1;
  c->next_queued = NULL;
  if (queue_tail != NULL)
    queue_tail->next_queued = c;
  else
    queue_head = c;
  queue_tail = c;
}

// Writes what the socket takes of the message in flight; waits for EPOLLOUT if not all.
static void push(struct conn* c) {
  static unsigned char buf[kMaxMsg];
  const uint64_t key = message_key(c);
  while (c->sent < c->len) {
    uint32_t n = c->len - c->sent;
    for (uint32_t i = 0; i < n; ++i) buf[i] = message_byte(c, key, c->sent + i);
    ssize_t w = write(c->fd, buf, n);
    if (w < 0 && errno == EAGAIN) {
      if (!c->want_out) watch(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
      c->want_out = 1;
      return;
    }
    if (w <= 0) fail(c, "write failed: the server closed the connection");
    c->sent += (uint32_t)w;
  }
  if (c->want_out) watch(c, EPOLLIN, EPOLL_CTL_MOD);
  c->want_out = 0;
}

static void start_message(struct conn* c) {
  ++c->seq;
  // Mostly small, sometimes up to 64 KiB: more than one socket buffer, so both sides see
  // partial reads and writes.
  c->len = rnd() % 64 == 0 ? kHeader + (uint32_t)(rnd() % (kMaxMsg - kHeader + 1))
                           : kHeader + (uint32_t)(rnd() % 4081);
  c->sent = c->got = 0;
  c->in_flight = 1;
  c->sent_at = now();
  push(c);
}

static void close_conn(struct conn* c) {
  if (rnd() % 2 == 0) {
    struct linger hard = {1, 0};  // a reset instead of a FIN
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    ++resets;
  }
  close(c->fd);
  c->fd = -1;
}

static void on_echo(struct conn* c, int stopping) {
  static unsigned char buf[kMaxMsg];
  ssize_t r = read(c->fd, buf, sizeof(buf));
  if (r < 0 && errno == EAGAIN) return;
  if (r < 0) fail(c, strerror(errno));
  if (r == 0) fail(c, "the server closed the connection");
  if (!c->in_flight || c->got + (uint32_t)r > c->sent) fail(c, "the server sent bytes nobody sent it");
  const uint64_t key = message_key(c);
  for (ssize_t i = 0; i < r; ++i)
    if (buf[i] != message_byte(c, key, c->got + (uint32_t)i)) {
      fprintf(stderr, "soak_client: byte %u is %u, expected %u\n", c->got + (unsigned)i, buf[i],
              message_byte(c, key, c->got + (uint32_t)i));
      fail(c, "the echo differs from what was sent");
    }
  c->got += (uint32_t)r;
  if (c->got < c->len) return;
  c->in_flight = 0;
  ++messages;
  bytes += c->len;
  if (stopping) return;
  if (churn > 0 && rnd() % churn == 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close_conn(c);
    ++reconnects;
    open_conn(c);
    return;
  }
  enqueue(c);
}

static void on_event(struct conn* c, uint32_t events, int stopping) {
  if (c->connecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) fail(c, strerror(err));
    c->connecting = 0;
    c->want_out = 0;
    watch(c, EPOLLIN, EPOLL_CTL_MOD);
    if (!stopping) enqueue(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_echo(c, stopping);
  if ((events & EPOLLOUT) && c->in_flight && c->fd >= 0) push(c);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: soak_client PORT CONNS SECONDS [RATE [CHURN]]\n");
    return 2;
  }
  port = atoi(argv[1]);
  n_conns = atoi(argv[2]);
  const double seconds = atof(argv[3]);
  rate = argc > 4 ? atof(argv[4]) : 10000;
  churn = argc > 5 ? atoi(argv[5]) : 200;
  conns = calloc(n_conns, sizeof(*conns));
  ep = epoll_create1(0);
  for (int i = 0; i < n_conns; ++i) {
    conns[i].id = (uint32_t)i;
    open_conn(&conns[i]);
  }
  struct epoll_event events[1024];
  const double start = now(), end = start + seconds;
  double last_refill = start, tokens = 0, next_report = start + 10, next_stall_check = start + 5;
  int stopping = 0;
  double stop_deadline = 0;
  for (;;) {
    const double t = now();
    if (!stopping && t >= end) {
      stopping = 1;
      stop_deadline = t + 30;  // the echoes still in flight
    }
    if (stopping) {
      int busy = 0;
      for (int i = 0; i < n_conns && !busy; ++i) busy = conns[i].in_flight || conns[i].connecting;
      if (!busy) break;
      if (t > stop_deadline) fail(&conns[0], "echoes still missing 30 s after the end");
    } else {
      // The rate limit: connections whose echo came back wait here for a token.
      if (rate > 0) {
        tokens += (t - last_refill) * rate;
        if (tokens > rate / 10) tokens = rate / 10;  // at most a tenth of a second's burst
      }
      last_refill = t;
      while (queue_head != NULL && (rate <= 0 || tokens >= 1)) {
        struct conn* c = queue_head;
        queue_head = c->next_queued;
        if (queue_head == NULL) queue_tail = NULL;
        c->queued = 0;
        tokens -= 1;
        start_message(c);
      }
    }
    if (t >= next_stall_check) {
      next_stall_check = t + 5;
      for (int i = 0; i < n_conns; ++i)
        if (conns[i].in_flight && t - conns[i].sent_at > kStallSeconds) fail(&conns[i], "no echo for 60 s");
    }
    if (t >= next_report) {
      next_report += 10;
      printf("progress %.0f s: %ld messages, %.1f MiB, %ld reconnects\n", t - start, messages, bytes / 1048576.0,
             reconnects);
      fflush(stdout);
    }
    int k = epoll_wait(ep, events, 1024, 5);
    if (k < 0 && errno != EINTR) {
      perror("soak_client: epoll_wait");
      return 1;
    }
    for (int i = 0; i < k; ++i) on_event(events[i].data.ptr, events[i].events, stopping);
  }
  const double elapsed = now() - start;
  for (int i = 0; i < n_conns; ++i) close(conns[i].fd);
  printf("summary: %d connections, %.0f s, %ld messages (%.0f/s), %.1f MiB echoed and checked, "
         "%ld reconnects (%ld by reset), 0 mismatches\n",
         n_conns, elapsed, messages, messages / elapsed, bytes / 1048576.0, reconnects, resets);
  return 0;
}
