// The practical limit: a hand-written, single-threaded, level-triggered epoll echo server.
//   epoll_server PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(l, (struct sockaddr*)&a, sizeof(a)) || listen(l, 4096)) return perror("epoll_server"), 1;
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = l}, events[1024];
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  char buf[4096];
  for (;;) {
    int k = epoll_wait(ep, events, 1024, -1);
    for (int i = 0; i < k; ++i) {
      int fd = events[i].data.fd;
      if (fd == l) {
        int c;
        while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fd);
        continue;
      }
      for (ssize_t off = 0; off < n;) {  // 64-byte replies always fit the socket buffer
        ssize_t w = write(fd, buf + off, n - off);
        if (w > 0) off += w;
      }
    }
  }
}
