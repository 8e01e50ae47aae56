// The patch layer under an EINTR storm, run under green-run: plain blocking libc calls made
// by greenlets (accept, connect, read, write, poll, nanosleep, usleep, getaddrinfo) while
// SIGALRM arrives every 100 us with a handler installed without SA_RESTART. The signals
// interrupt the hub's epoll_wait, never a greenlet's call: every call completes with the
// right data and none returns EINTR. A raw close() of a descriptor another greenlet is
// blocked reading still wakes it with EBADF.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "../patch/check.hpp"

namespace {

std::atomic<long> signals{0};

// SIGALRM every 100 us to this thread and to the process, no SA_RESTART.
void start_storm() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { signals.fetch_add(1, std::memory_order_relaxed); };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  CHECK(sigaction(SIGALRM, &sa, nullptr) == 0);
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGALRM;
  // Through the patch layer's syscall() hook, which must cope with fewer than six arguments.
  ev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  timer_t timer;
  CHECK(timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0);
  const itimerspec spec{{0, 100'000}, {0, 100'000}};
  CHECK(timer_settime(timer, 0, &spec, nullptr) == 0);
  const itimerval every{{0, 100}, {0, 100}};
  CHECK(setitimer(ITIMER_REAL, &every, nullptr) == 0);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

void echo_server_and_clients() {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  CHECK(listen(listener, 128) == 0);
  socklen_t len = sizeof(addr);
  CHECK(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);

  constexpr int kClients = 8;
  auto server = green::spawn([listener] {
    for (int i = 0; i < kClients; ++i) {
      const int conn = accept(listener, nullptr, nullptr);
      CHECK(conn >= 0);
      green::spawn([conn] {
        char buf[16384];
        for (;;) {
          pollfd p{conn, POLLIN, 0};
          CHECK(poll(&p, 1, 10000) == 1);  // the blocking poll, interrupted by nothing
          const ssize_t n = read(conn, buf, sizeof(buf));
          CHECK(n >= 0);
          if (n == 0) break;
          CHECK(write(conn, buf, static_cast<size_t>(n)) == n);  // blocking: all of it
        }
        close(conn);
      });
    }
  });
  std::vector<green::Greenlet<void>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(green::spawn([addr, i] {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      CHECK(fd >= 0);
      CHECK(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
      const std::string data = pattern(512 * 1024 + static_cast<std::size_t>(i), static_cast<unsigned>(i));
      std::string back;
      auto reader = green::spawn([fd, &back, &data] {
        std::vector<char> buf(65536);
        while (back.size() < data.size()) {
          const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
          CHECK(n > 0);
          back.append(buf.data(), static_cast<std::size_t>(n));
        }
      });
      CHECK(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
      reader.get();
      CHECK(back == data);
      CHECK(shutdown(fd, SHUT_WR) == 0);
      char end;
      CHECK(read(fd, &end, 1) == 0);
      close(fd);
    }));
  for (auto& c : clients) c.get();
  server.get();
  close(listener);
}

void sleeps() {
  std::vector<green::Greenlet<void>> sleepers;
  for (int i = 0; i < 20; ++i)
    sleepers.push_back(green::spawn([i] {
      const double start = now();
      const timespec ts{0, 5'000'000 + i * 100'000};
      timespec left{};
      CHECK(nanosleep(&ts, &left) == 0);
      CHECK(usleep(5000) == 0);
      CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr) == 0);
      CHECK(now() - start >= 0.015);
    }));
  for (auto& s : sleepers) s.get();
}

void lookups() {
  for (int i = 0; i < 5; ++i) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    CHECK(getaddrinfo("localhost", "http", &hints, &res) == 0);
    CHECK(res != nullptr && ntohs(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_port) == 80);
    freeaddrinfo(res);
  }
}

void close_under_reader() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  ssize_t result = 0;
  int error = 0;
  auto reader = green::spawn([&] {
    char buf[8];
    result = read(sv[0], buf, sizeof(buf));
    error = errno;
  });
  green::sleep(0.02);
  CHECK(!reader.ready());
  CHECK(close(sv[0]) == 0);
  CHECK(reader.join(5.0));
  CHECK(result == -1 && error == EBADF);
  close(sv[1]);
}

}  // namespace

int main() {
  start_storm();
  echo_server_and_clients();
  sleeps();
  lookups();
  close_under_reader();
  CHECK(signals.load() > 100);
  std::printf("eintr_hooks: ok (%ld signals)\n", signals.load());
  return 0;
}
