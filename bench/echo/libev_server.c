/* libev callbacks: an ev_io per connection, read and echo in the callback.
 *   libev_server PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_data(struct ev_loop* loop, ev_io* w, int revents) {
  (void)revents;
  char buf[65536];
  ssize_t got = read(w->fd, buf, sizeof buf);
  if (got <= 0) {
    if (got < 0 && errno == EAGAIN) return;
    ev_io_stop(loop, w);
    close(w->fd);
    free(w);
    return;
  }
  for (ssize_t sent = 0; sent < got;) {
    ssize_t n = write(w->fd, buf + sent, got - sent);
    if (n < 0) {
      if (errno == EAGAIN) continue;
      break;
    }
    sent += n;
  }
}

static void on_accept(struct ev_loop* loop, ev_io* w, int revents) {
  (void)revents;
  int c;
  while ((c = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
    ev_io* io = malloc(sizeof *io);
    ev_io_init(io, on_data, c, EV_READ);
    ev_io_start(loop, io);
  }
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("listen");
    return 1;
  }
  struct ev_loop* loop = ev_default_loop(EVBACKEND_EPOLL);
  ev_io accept_watcher;
  ev_io_init(&accept_watcher, on_accept, listener, EV_READ);
  ev_io_start(loop, &accept_watcher);
  ev_run(loop, 0);
  return 0;
}
