// A libev callback echo server: one ev_io per connection, read then write in the callback.
//   libev_server PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[4096];

static void on_data(struct ev_loop* loop, ev_io* w, int revents) {
  (void)revents;
  ssize_t n = read(w->fd, buf, sizeof(buf));
  if (n <= 0) {
    ev_io_stop(loop, w);
    close(w->fd);
    free(w);
    return;
  }
  for (ssize_t off = 0; off < n;) {
    ssize_t r = write(w->fd, buf + off, n - off);
    if (r > 0) off += r;
  }
}

static void on_accept(struct ev_loop* loop, ev_io* w, int revents) {
  (void)revents;
  int c;
  while ((c = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
    ev_io* io = malloc(sizeof(ev_io));
    ev_io_init(io, on_data, c, EV_READ);
    ev_io_start(loop, io);
  }
}

int main(int argc, char** argv) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(l, (struct sockaddr*)&a, sizeof(a)) || listen(l, 4096)) return perror("libev_server"), 1;
  struct ev_loop* loop = ev_default_loop(EVBACKEND_EPOLL);
  ev_io accept_watcher;
  ev_io_init(&accept_watcher, on_accept, l, EV_READ);
  ev_io_start(loop, &accept_watcher);
  ev_run(loop, 0);
}
