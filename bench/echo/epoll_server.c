/* The practical limit: a hand-written level-triggered epoll echo server, one thread.
 *   epoll_server PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

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
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  struct epoll_event events[1024];
  char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, events, 1024, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c;
        while ((c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t got = read(fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        close(fd);
        continue;
      }
      for (ssize_t sent = 0; sent < got;) { /* small echoes fit the socket buffer */
        ssize_t w = write(fd, buf + sent, got - sent);
        if (w < 0) {
          if (errno == EAGAIN) continue;
          close(fd);
          break;
        }
        sent += w;
      }
    }
  }
}
