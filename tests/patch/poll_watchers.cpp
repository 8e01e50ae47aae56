// poll in greenlets keeps its watcher on a managed descriptor started between waits (so
// polling the same descriptor again costs no epoll_ctl). Whatever happens to the
// descriptor in between, poll still answers as the kernel does: repeated waits, other
// events on the same fd, two greenlets polling one fd, a close while another greenlet
// polls it (woken, POLLNVAL), the number reused for a new socket on this thread or after
// another OS thread closed it, readiness while nobody polls. And fcntl's F_GETFL then
// F_SETFL (the one syscall it costs now) still sets exactly what the program asked for.
// And a watcher left started does not keep a wait that nothing can end from LoopExit.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "green/errors.hpp"
#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "check.hpp"

namespace {

double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Polls `fd` for `events` in a new greenlet; the main greenlet runs on once it waits.
struct Poller {
  int result = -2;
  short revents = 0;
  green::Greenlet<void> greenlet;
  Poller(int fd, short events, int ms = 5000)
      : greenlet(green::spawn([this, fd, events, ms] {
          pollfd p{fd, events, 0};
          result = poll(&p, 1, ms);
          revents = p.revents;
        })) {
    green::sleep(0.01);
    CHECK(!greenlet.ready());  // waiting, not answered at once
  }
};

void repeated_waits() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  for (int i = 0; i < 50; ++i) {
    Poller p(sv[0], POLLIN);
    CHECK(write(sv[1], "x", 1) == 1);
    CHECK(p.greenlet.join(5.0));
    CHECK(p.result == 1 && p.revents == POLLIN);
    char c;
    CHECK(read(sv[0], &c, 1) == 1 && c == 'x');
  }
  // Other events on the same descriptor, then both.
  pollfd out{sv[0], POLLOUT, 0};
  CHECK(poll(&out, 1, 1000) == 1 && out.revents == POLLOUT);
  {
    Poller p(sv[0], POLLIN);
    CHECK(write(sv[1], "y", 1) == 1);
    CHECK(p.greenlet.join(5.0) && p.result == 1 && p.revents == POLLIN);
  }
  pollfd both{sv[0], POLLIN | POLLOUT, 0};
  CHECK(poll(&both, 1, 1000) == 1 && both.revents == (POLLIN | POLLOUT));
  char c;
  CHECK(read(sv[0], &c, 1) == 1 && c == 'y');
  // Ready while nobody polls: the next poll answers at once, and a later one still waits.
  {
    Poller p(sv[0], POLLIN);
    CHECK(write(sv[1], "z", 1) == 1);
    CHECK(p.greenlet.join(5.0) && p.result == 1);
  }
  green::sleep(0.02);  // the hub runs with the byte unread and nobody polling
  pollfd in{sv[0], POLLIN, 0};
  CHECK(poll(&in, 1, 1000) == 1 && in.revents == POLLIN);
  CHECK(read(sv[0], &c, 1) == 1 && c == 'z');
  const double t0 = now();
  CHECK(poll(&in, 1, 50) == 0 && now() - t0 >= 0.045);
  close(sv[0]);
  close(sv[1]);
}

void two_greenlets_one_fd() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  Poller first(sv[0], POLLIN);
  Poller second(sv[0], POLLIN);
  CHECK(write(sv[1], "x", 1) == 1);
  CHECK(first.greenlet.join(5.0) && second.greenlet.join(5.0));
  CHECK(first.result == 1 && first.revents == POLLIN && second.result == 1 && second.revents == POLLIN);
  close(sv[0]);
  close(sv[1]);
}

void close_wakes_poller() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  {
    Poller warm(sv[0], POLLIN);  // leaves a watcher on sv[0]
    CHECK(write(sv[1], "x", 1) == 1);
    CHECK(warm.greenlet.join(5.0));
  }
  char c;
  CHECK(read(sv[0], &c, 1) == 1);
  Poller p(sv[0], POLLIN, 10000);
  const double t0 = now();
  CHECK(close(sv[0]) == 0);
  CHECK(p.greenlet.join(5.0));
  CHECK(now() - t0 < 5.0 && p.result == 1 && p.revents == POLLNVAL);
  close(sv[1]);
}

// The numbers of a closed pair come back for the next one (lowest free first).
void same_numbers(int old_pair[2], int new_pair[2]) {
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, new_pair) == 0);
  CHECK(new_pair[0] == old_pair[0] && new_pair[1] == old_pair[1]);
}

void number_reused() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  {
    Poller p(sv[0], POLLIN);
    CHECK(write(sv[1], "x", 1) == 1);
    CHECK(p.greenlet.join(5.0));
  }
  close(sv[0]);
  close(sv[1]);
  int again[2];
  same_numbers(sv, again);
  Poller p(again[0], POLLIN);
  CHECK(write(again[1], "y", 1) == 1);
  CHECK(p.greenlet.join(5.0) && p.result == 1 && p.revents == POLLIN);
  close(again[0]);
  close(again[1]);
}

int closing_pair[2];
int reopened_pair[2];
void* close_and_reopen(void*) {
  // On another OS thread: this thread's watcher on the old descriptor is not stopped.
  close(closing_pair[0]);
  close(closing_pair[1]);
  same_numbers(closing_pair, reopened_pair);
  return nullptr;
}

void number_reused_by_another_thread() {
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, closing_pair) == 0);
  {
    Poller p(closing_pair[0], POLLIN);
    CHECK(write(closing_pair[1], "x", 1) == 1);
    CHECK(p.greenlet.join(5.0));
  }
  pthread_t t;
  CHECK(pthread_create(&t, nullptr, close_and_reopen, nullptr) == 0);
  CHECK(pthread_join(t, nullptr) == 0);
  Poller p(reopened_pair[0], POLLIN);
  CHECK(write(reopened_pair[1], "y", 1) == 1);
  CHECK(p.greenlet.join(5.0) && p.result == 1 && p.revents == POLLIN);
  close(reopened_pair[0]);
  close(reopened_pair[1]);
}

void getfl_then_setfl() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  // The usual dance: the program sees its socket turn non-blocking.
  int flags = fcntl(sv[0], F_GETFL);
  CHECK(flags >= 0 && (flags & O_NONBLOCK) == 0);
  CHECK(fcntl(sv[0], F_SETFL, flags | O_NONBLOCK) == 0);
  CHECK((fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
  char c;
  CHECK(read(sv[0], &c, 1) == -1 && errno == EAGAIN);
  // And back: blocking again (cooperatively).
  flags = fcntl(sv[0], F_GETFL);
  CHECK(fcntl(sv[0], F_SETFL, flags & ~O_NONBLOCK) == 0);
  CHECK((fcntl(sv[0], F_GETFL) & O_NONBLOCK) == 0);
  // A change through a copy between the two calls is not lost: the F_SETFL is real.
  const int copy = dup(sv[0]);
  CHECK(copy >= 0);
  flags = fcntl(sv[0], F_GETFL);
  CHECK((flags & O_APPEND) == 0);
  CHECK(fcntl(copy, F_SETFL, flags | O_APPEND) == 0);
  CHECK((fcntl(sv[0], F_GETFL) & O_APPEND) != 0);
  flags = fcntl(sv[0], F_GETFL);
  CHECK(fcntl(copy, F_SETFL, (flags & ~O_APPEND)) == 0);
  CHECK((fcntl(sv[0], F_GETFL) & O_APPEND) == 0);
  // Replaced between the two calls: the new file gets the flags asked for.
  flags = fcntl(sv[0], F_GETFL);
  close(sv[0]);
  close(copy);
  close(sv[1]);
  int again[2];
  same_numbers(sv, again);
  CHECK(fcntl(again[0], F_SETFL, flags | O_NONBLOCK) == 0);
  CHECK(read(again[0], &c, 1) == -1 && errno == EAGAIN);
  close(again[0]);
  close(again[1]);
}

// A watcher left started on a descriptor nobody polls keeps nothing alive: a wait that
// nothing can end is still LoopExit, not a hang.
void nothing_left_to_wake() {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  {
    Poller p(sv[0], POLLIN);
    CHECK(write(sv[1], "x", 1) == 1);
    CHECK(p.greenlet.join(5.0));
  }
  char c;
  CHECK(read(sv[0], &c, 1) == 1);
  green::Event never;
  bool loop_exit = false;
  try {
    never.wait();
  } catch (const green::LoopExit&) {
    loop_exit = true;
  }
  CHECK(loop_exit);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace

int main() {
  auto main_body = green::spawn([] {
    repeated_waits();
    two_greenlets_one_fd();
    close_wakes_poller();
    number_reused();
    number_reused_by_another_thread();
    getfl_then_setfl();
  });
  CHECK(main_body.join(60.0));
  main_body.get();
  nothing_left_to_wake();  // LoopExit comes to the main greenlet
  std::printf("poll_watchers: ok\n");
  return 0;
}
