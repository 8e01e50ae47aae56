/* Thread per connection with blocking reads and writes: the style --threads is for.
 *   thread_server PORT
 * Small thread stacks (64 KiB) so that 10,000 connections fit. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  for (;;) {
    ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0) break;
    ssize_t sent = 0;
    while (sent < got) {
      ssize_t n = write(fd, buf + sent, got - sent);
      if (n <= 0) goto done;
      sent += n;
    }
  }
done:
  close(fd);
  return NULL;
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
    perror("listen");
    return 1;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) continue;
    pthread_t thread;
    if (pthread_create(&thread, &attr, serve, (void*)(intptr_t)c) != 0) close(c);
  }
}
