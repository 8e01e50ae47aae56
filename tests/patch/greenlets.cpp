// Blocking libc calls made by greenlets under green-run: each blocks only its greenlet.
// Closing an fd another greenlet waits on wakes it with EBADF; a kill inside recv returns
// -1/EINTR and GreenletExit comes at the next green:: call; a green::Timeout inside recv
// returns EAGAIN; 500 concurrent connections echo every byte through plain
// accept/read/write; 1,000 greenlets printing with printf write whole lines only.
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/timeout.hpp"
#include "check.hpp"

namespace {

void close_under_waiter() {
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
  CHECK(!reader.ready());  // blocked in read, the main greenlet still runs
  CHECK(close(sv[0]) == 0);
  CHECK(reader.join(5.0));
  CHECK(result == -1 && error == EBADF);
  close(sv[1]);
}

// A kill inside recv: -1/EINTR. C code that retries keeps working (the retry waits, it
// does not spin on EINTR) until the greenlet reaches a green:: call, where GreenletExit is
// raised. The same for poll.
void kill_inside_recv() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  ssize_t first = 0, second = 0;
  int first_errno = 0, poll_errno = 0;
  char got = 0;
  bool raised_later = false;
  auto reader = green::spawn([&] {
    char buf[8];
    first = recv(sv[0], buf, sizeof(buf), 0);
    first_errno = errno;
    second = recv(sv[0], buf, sizeof(buf), 0);  // the kill is pending: this still waits
    got = buf[0];
    try {
      green::sleep(0);
    } catch (const green::GreenletExit&) {
      raised_later = true;
      throw;
    }
  });
  green::sleep(0.02);
  reader.kill(/*block=*/false);
  green::sleep(0.05);
  CHECK(!reader.dead());  // in its second recv
  CHECK(write(sv[1], "k", 1) == 1);
  CHECK(reader.join(5.0));
  CHECK(first == -1 && first_errno == EINTR && second == 1 && got == 'k' && raised_later);

  auto poller = green::spawn([&] {
    pollfd p{sv[0], POLLIN, 0};
    if (poll(&p, 1, -1) == -1) poll_errno = errno;
  });
  green::sleep(0.02);
  poller.kill();
  CHECK(poller.dead() && poll_errno == EINTR);
  close(sv[0]);
  close(sv[1]);
}

void timeout_inside_recv() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  ssize_t result = 0;
  int error = 0;
  bool timed_out = false;
  try {
    green::Timeout timeout(0.05);
    char buf[8];
    result = recv(sv[0], buf, sizeof(buf), 0);
    error = errno;
    green::sleep(0);
  } catch (const green::TimeoutError&) {
    timed_out = true;
  }
  CHECK(result == -1 && error == EAGAIN && timed_out);
  close(sv[0]);
  close(sv[1]);
}

// A listener whose accept queue is full drops SYNs: a connect to it hangs, which shows
// both connect timeouts. SO_SNDTIMEO gives EINPROGRESS (Linux's contract); a
// green::Timeout gives ETIMEDOUT and is raised at the next green:: call.
void connect_timeouts() {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  CHECK(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(lfd, 0) == 0);
  CHECK(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::vector<int> fillers;
  // Fill the queue with non-blocking connects until one stays in progress.
  for (int i = 0; i < 16; ++i) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    fillers.push_back(s);
    if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno == EINPROGRESS) break;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{0, 100000};
  CHECK(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0);
  errno = 0;
  CHECK(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == -1 && errno == EINPROGRESS);
  close(s);
  s = socket(AF_INET, SOCK_STREAM, 0);
  int error = 0;
  bool raised = false;
  try {
    green::Timeout timeout(0.1);
    CHECK(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == -1);
    error = errno;
    green::sleep(0);
  } catch (const green::TimeoutError&) {
    raised = true;
  }
  CHECK(error == ETIMEDOUT && raised);
  close(s);
  for (int f : fillers) close(f);
  close(lfd);
}

void many_connections() {
  constexpr int kClients = 500;
  constexpr std::size_t kBytes = 4096;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  CHECK(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  CHECK(listen(lfd, 1024) == 0);
  CHECK(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);

  // A thread-per-connection echo server written as blocking code, greenlets as threads.
  auto server = green::spawn([&] {
    for (int i = 0; i < kClients; ++i) {
      int c = accept(lfd, nullptr, nullptr);
      CHECK(c >= 0);
      green::spawn([c] {
        char buf[1024];
        ssize_t n;
        while ((n = read(c, buf, sizeof(buf))) > 0) CHECK(write(c, buf, static_cast<size_t>(n)) == n);
        close(c);
      });
    }
  });
  std::atomic<int> ok{0};
  std::vector<green::Greenlet<void>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(green::spawn([&, i] {
      int s = socket(AF_INET, SOCK_STREAM, 0);
      CHECK(connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
      std::string out(kBytes, '\0');
      for (std::size_t k = 0; k < kBytes; ++k) out[k] = static_cast<char>('a' + (i + k) % 26);
      CHECK(write(s, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
      shutdown(s, SHUT_WR);
      std::string in;
      char buf[1000];
      ssize_t n;
      while ((n = recv(s, buf, sizeof(buf), 0)) > 0) in.append(buf, static_cast<size_t>(n));
      CHECK(n == 0 && in == out);
      close(s);
      ++ok;
    }));
  green::joinall(clients, 60.0);
  CHECK(server.join(10.0));
  CHECK(ok == kClients);
  close(lfd);
}

// Name resolution from many greenlets at once, on the hub's thread pool: each gets its own
// answer in its own buffers.
void resolve_names() {
  constexpr int kGreenlets = 50;
  std::atomic<int> ok{0};
  std::vector<green::Greenlet<void>> resolvers;
  for (int i = 0; i < kGreenlets; ++i)
    resolvers.push_back(green::spawn([&, i] {
      addrinfo hints{};
      hints.ai_family = AF_INET;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      const std::string port = std::to_string(1000 + i);
      CHECK(getaddrinfo("localhost", port.c_str(), &hints, &res) == 0 && res != nullptr);
      auto* in = reinterpret_cast<sockaddr_in*>(res->ai_addr);
      CHECK(ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK && ntohs(in->sin_port) == 1000 + i);
      char host[64], serv[16];
      CHECK(getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0);
      CHECK(std::strcmp(host, "127.0.0.1") == 0 && serv == port);
      freeaddrinfo(res);
      hostent entry{}, *result = nullptr;
      char buf[2048];
      int h_err = 0;
      CHECK(gethostbyname_r("localhost", &entry, buf, sizeof(buf), &result, &h_err) == 0 && result == &entry);
      CHECK(entry.h_addrtype == AF_INET && entry.h_addr_list[0] != nullptr);
      CHECK(entry.h_addr_list[0] >= buf && entry.h_addr_list[0] < buf + sizeof(buf));  // relocated
      in_addr addr;
      std::memcpy(&addr, entry.h_addr_list[0], sizeof(addr));
      CHECK(ntohl(addr.s_addr) == INADDR_LOOPBACK);
      hostent* h = gethostbyname("localhost");
      CHECK(h != nullptr && h->h_addrtype == AF_INET);
      ++ok;
    }));
  green::joinall(resolvers, 60.0);
  CHECK(ok == kGreenlets);
  addrinfo* res = nullptr;
  CHECK(getaddrinfo("no-such-host.invalid", nullptr, nullptr, &res) != 0);
}

// stdout is never cooperative: even with a pipe that fills up, each printf writes whole.
void printf_from_greenlets() {
  constexpr int kGreenlets = 1000, kLines = 5;
  int p[2];
  CHECK(pipe(p) == 0);
  std::fflush(stdout);
  pid_t checker = fork();
  CHECK(checker >= 0);
  if (checker == 0) {
    close(p[1]);
    FILE* in = fdopen(p[0], "r");
    char line[512];
    int count = 0;
    while (std::fgets(line, sizeof(line), in) != nullptr) {
      int g = -1, k = -1;
      char tail[300];
      if (std::sscanf(line, "greenlet %d line %d %299s", &g, &k, tail) != 3 || std::strlen(tail) != 200 ||
          line[std::strlen(line) - 1] != '\n')
        _exit(3);
      ++count;
    }
    _exit(count == kGreenlets * kLines ? 0 : 4);
  }
  close(p[0]);
  const int saved = dup(1);
  CHECK(dup2(p[1], 1) == 1);
  close(p[1]);
  const std::string pad(200, 'x');
  std::vector<green::Greenlet<void>> printers;
  for (int i = 0; i < kGreenlets; ++i)
    printers.push_back(green::spawn([i, &pad] {
      for (int k = 0; k < kLines; ++k) {
        std::printf("greenlet %d line %d %s\n", i, k, pad.c_str());
        green::sleep(0);
      }
    }));
  green::joinall(printers, 60.0);
  std::fflush(stdout);
  CHECK(dup2(saved, 1) == 1);
  close(saved);
  int status = 0;
  CHECK(waitpid(checker, &status, 0) == checker);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace

int main() {
  close_under_waiter();
  kill_inside_recv();
  timeout_inside_recv();
  connect_timeouts();
  resolve_names();
  many_connections();
  printf_from_greenlets();
  std::printf("greenlets: ok\n");
  return 0;
}
