/* A thread-per-connection echo server and 5,000 client threads in one process under
 * --threads: all 5,000 connections are open at once (a barrier holds them), every echoed
 * byte is checked, and the process stays on at most 4 OS threads. Needs the socket family
 * of the patch layer (blocking accept/read/write in greenlets); without it the program
 * says so and exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_check.h"

enum { kMessages = 3, kSize = 100 };

static int connections = 5000;
static struct sockaddr_in server_addr;
static pthread_barrier_t all_connected;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static int echoed_ok = 0, max_os_threads = 0;

static int read_exact(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static int write_all(int fd, const char* buf, size_t n) {
  size_t sent = 0;
  while (sent < n) {
    ssize_t w = write(fd, buf + sent, n - sent);
    if (w <= 0) return -1;
    sent += (size_t)w;
  }
  return 0;
}

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  for (;;) {
    ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0 || write_all(fd, buf, (size_t)got) != 0) break;
  }
  close(fd);
  return NULL;
}

static void* acceptor(void* arg) {
  int listener = (int)(intptr_t)arg;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) {
      if (errno == EBADF || errno == EINVAL) break; /* listener closed: done */
      continue;
    }
    pthread_t t;
    CHECK_EQ(pthread_create(&t, &attr, serve, (void*)(intptr_t)c), 0);
  }
  return NULL;
}

static void fill(char* buf, long client, int message) {
  for (int i = 0; i < kSize; ++i) buf[i] = (char)('a' + (client * 7 + message * 13 + i) % 26);
}

static void* client(void* arg) {
  long id = (long)arg;
  usleep((useconds_t)(id % 50) * 1000); /* connect in waves the acceptor keeps up with */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  CHECK(connect(fd, (struct sockaddr*)&server_addr, sizeof server_addr) == 0);
  char out[kSize], in[kSize];
  fill(out, id, 0);
  CHECK(write_all(fd, out, kSize) == 0 && read_exact(fd, in, kSize) == 0);
  CHECK(memcmp(in, out, kSize) == 0);
  pthread_barrier_wait(&all_connected); /* every connection is open now */
  pthread_mutex_lock(&stats_lock);
  int n = os_threads();
  if (n > max_os_threads) max_os_threads = n;
  pthread_mutex_unlock(&stats_lock);
  for (int m = 1; m < kMessages; ++m) {
    fill(out, id, m);
    CHECK(write_all(fd, out, kSize) == 0 && read_exact(fd, in, kSize) == 0);
    CHECK(memcmp(in, out, kSize) == 0);
  }
  close(fd);
  pthread_mutex_lock(&stats_lock);
  ++echoed_ok;
  pthread_mutex_unlock(&stats_lock);
  return NULL;
}

static int socket_family_patched(void) {
  Dl_info info;
  void* accept_fn = dlsym(RTLD_DEFAULT, "accept");
  return accept_fn != NULL && dladdr(accept_fn, &info) != 0 && info.dli_fname != NULL &&
         strstr(info.dli_fname, "libgreen-patch") != NULL;
}

int main(void) {
  if (!socket_family_patched()) {
    printf("echo server: skipped (this libgreen-patch has no socket family)\n");
    return 0;
  }
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  rlim_t want = (rlim_t)connections * 2 + 64;
  if (limit.rlim_cur < want) {
    limit.rlim_cur = limit.rlim_max < want ? limit.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < want) connections = (int)(limit.rlim_cur - 64) / 2;

  int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  server_addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &server_addr.sin_addr);
  CHECK(bind(listener, (struct sockaddr*)&server_addr, sizeof server_addr) == 0);
  socklen_t len = sizeof server_addr;
  CHECK(getsockname(listener, (struct sockaddr*)&server_addr, &len) == 0);
  CHECK(listen(listener, 4096) == 0);

  pthread_t acceptor_thread;
  CHECK_EQ(pthread_create(&acceptor_thread, NULL, acceptor, (void*)(intptr_t)listener), 0);
  CHECK_EQ(pthread_barrier_init(&all_connected, NULL, (unsigned)connections), 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t* clients = malloc(sizeof(pthread_t) * (size_t)connections);
  double start = now_seconds();
  for (long i = 0; i < connections; ++i) CHECK_EQ(pthread_create(&clients[i], &attr, client, (void*)i), 0);
  for (int i = 0; i < connections; ++i) CHECK_EQ(pthread_join(clients[i], NULL), 0);
  double elapsed = now_seconds() - start;
  CHECK_EQ(echoed_ok, connections);
  CHECK(max_os_threads >= 1 && max_os_threads <= 4);
  shutdown(listener, SHUT_RDWR);
  printf("echo server: %d concurrent connections, %d messages each, every byte checked, %.2f s, %d OS threads\n",
         connections, kMessages, elapsed, max_os_threads);
  free(clients);
  return 0;
}
