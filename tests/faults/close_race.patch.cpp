// A raw close() racing a reader's wake-up, under green-run. Greenlet A is blocked in
// read(x). x becomes readable, so A is woken; before A runs again, greenlet B closes x and
// the next socketpair() gets the same number, with other bytes waiting in it. A must not
// read those bytes (they belong to another connection): its read fails with EBADF, as it
// does when the close comes first.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "green/fd_wait.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "../patch/check.hpp"

namespace {

// `closer_first`: which of the two fds becomes readable first; libev runs the callbacks of
// one poll in an order that depends on it, so one of the two orders makes B run before A.
void race(bool closer_first) {
  int x[2], y[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, x) == 0);
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, y) == 0);
  std::string a_got;
  int a_errno = 0;
  auto a = green::spawn([&] {
    char buf[64];
    const ssize_t n = read(x[0], buf, sizeof(buf));
    if (n < 0)
      a_errno = errno;
    else
      a_got.assign(buf, static_cast<std::size_t>(n));
  });
  int reused[2] = {-1, -1};
  auto b = green::spawn([&] {
    char c;
    CHECK(read(y[0], &c, 1) == 1);  // woken in the same poll as A
    if (!a.ready()) {
      const int number = x[0];
      CHECK(close(x[0]) == 0);
      CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, reused) == 0);
      CHECK(reused[0] == number);  // the lowest free number: A's, again
      CHECK(write(reused[1], "SECRET", 6) == 6);
    }
  });
  green::sleep(0.01);  // both block
  CHECK(!a.ready() && !b.ready());
  if (closer_first) {
    CHECK(write(y[1], "b", 1) == 1);
    CHECK(write(x[1], "for-a", 5) == 5);
  } else {
    CHECK(write(x[1], "for-a", 5) == 5);
    CHECK(write(y[1], "b", 1) == 1);
  }
  CHECK(a.join(5.0) && b.join(5.0));
  if (reused[0] >= 0) {
    // B closed A's descriptor before A ran: A must not have read the new pair's bytes.
    CHECK(a_got != "SECRET");
    CHECK(a_got.empty() && a_errno == EBADF);
    char buf[8];
    CHECK(read(reused[0], buf, sizeof(buf)) == 6);  // still there for its owner
    close(reused[0]);
    close(reused[1]);
  } else {
    CHECK(a_got == "for-a");
    close(x[0]);
  }
  close(x[1]);
  close(y[0]);
  close(y[1]);
}

}  // namespace

int main() {
  for (int i = 0; i < 20; ++i) {
    race(true);
    race(false);
  }
  std::printf("close_race: ok\n");
  return 0;
}
