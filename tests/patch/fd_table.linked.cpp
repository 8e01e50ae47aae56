// The patch layer's descriptor table, from greenlets in a program linked with green::patch:
// cases the fuzzer (fuzz/fd_fuzz.cpp) found, kept as plain checks.
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "check.hpp"

namespace {

// A pipe made inside a greenlet; a blocking read on it wakes when another greenlet writes.
void read_woken_by_write() {
  int p[2];
  CHECK(pipe(p) == 0);
  auto writer = green::spawn([&] { CHECK(write(p[1], "hello", 5) == 5); });
  char buf[16];
  CHECK(read(p[0], buf, sizeof(buf)) == 5 && std::memcmp(buf, "hello", 5) == 0);
  CHECK(writer.join(5.0));
  close(p[0]);
  close(p[1]);
}

// O_NONBLOCK belongs to the open file description: set through one descriptor, every
// dup of it sees it (F_GETFL) and behaves by it (EAGAIN, not a wait).
void nonblock_is_shared_by_dups() {
  int p[2];
  CHECK(pipe(p) == 0);
  const int copy = dup(p[0]);
  const int high = fcntl(p[0], F_DUPFD_CLOEXEC, 100);
  CHECK(copy >= 0 && high >= 100);
  CHECK(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) == 0);
  for (int fd : {p[0], copy, high}) CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
  char c;
  errno = 0;
  CHECK(read(copy, &c, 1) == -1 && errno == EAGAIN);
  int off = 0;
  CHECK(ioctl(high, FIONBIO, &off) == 0);
  for (int fd : {p[0], copy, high}) CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
  // Blocking again everywhere: a read through the first copy waits for the writer.
  auto writer = green::spawn([&] { CHECK(write(p[1], "x", 1) == 1); });
  CHECK(read(copy, &c, 1) == 1 && c == 'x');
  CHECK(writer.join(5.0));
  for (int fd : {p[0], p[1], copy, high}) close(fd);
}

// SO_RCVTIMEO is the socket's, shared by its dups: a blocking read through a copy times out.
void receive_timeout_is_shared_by_dups() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  const int copy = dup(sv[0]);
  timeval tv{0, 20000};
  CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
  // If the copy ignored the timeout, this greenlet would wake its read after 5 s.
  auto rescue = green::spawn([&] {
    green::sleep(5.0);
    CHECK(send(sv[1], "!", 1, MSG_DONTWAIT) == 1);
  });
  char c;
  errno = 0;
  CHECK(recv(copy, &c, 1, 0) == -1 && errno == EAGAIN);
  rescue.kill();
  for (int fd : {sv[0], sv[1], copy}) close(fd);
}

// A read of 0 bytes returns 0 at once, even right after a short read left the pipe empty
// (when the next read would otherwise wait for data first).
void zero_byte_read_does_not_wait() {
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "abc", 3) == 3);
  char buf[16];
  CHECK(read(p[0], buf, sizeof(buf)) == 3);  // short: the pipe is drained
  bool rescued = false;
  auto rescue = green::spawn([&] {
    green::sleep(5.0);
    rescued = true;
    CHECK(write(p[1], "!", 1) == 1);
  });
  CHECK(read(p[0], buf, 0) == 0);
  CHECK(!rescued);
  rescue.kill();
  close(p[0]);
  close(p[1]);
}

// The syscall() hook reads six arguments whatever the call takes, as glibc does; a caller
// passing fewer (here from a frame full of AddressSanitizer redzones) must not trip it.
void syscall_with_few_arguments() {
  volatile char around[64] = {};
  CHECK(syscall(SYS_getpid) == getpid());
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(syscall(SYS_fcntl, p[0], F_GETFD) == 0);
  close(p[0]);
  close(p[1]);
  (void)around[0];
}

}  // namespace

int main() {
  auto g = green::spawn([] {
    read_woken_by_write();
    nonblock_is_shared_by_dups();
    receive_timeout_is_shared_by_dups();
    zero_byte_read_does_not_wait();
    syscall_with_few_arguments();
  });
  CHECK(g.join(30.0));
  std::puts("fd table: ok");
  return 0;
}
