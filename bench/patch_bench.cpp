// The cost of the patch layer (green::patch linked in, as a C++ program does):
//   - a hooked call that passes through (read of 1 byte from /dev/zero, not a socket, so
//     not managed) against libc's own read called directly;
//   - a hooked socket read that yields: two greenlets ping-pong one byte over a socketpair
//     with plain blocking read/write (each read finds nothing, waits cooperatively, is
//     woken by libev) against the same ping-pong written by hand with green::wait_read and
//     the real calls, against green::Socket, and against two OS threads doing
//     the ping-pong with libc's blocking read/write (what the program did unpatched).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/socket.hpp"
#include "green/fd_wait.hpp"
#include "ratio.hpp"

namespace {

// libc's own functions, behind the hooks this program links.
template <class F>
F libc(const char* name) {
  static void* handle = ::dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  void* fn = handle ? ::dlsym(handle, name) : nullptr;
  if (fn == nullptr) {
    std::fprintf(stderr, "patch_bench: libc has no %s\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(fn);
}
using ReadFn = ssize_t (*)(int, void*, size_t);
using WriteFn = ssize_t (*)(int, const void*, size_t);
using SocketpairFn = int (*)(int, int, int, int*);
const ReadFn real_read = libc<ReadFn>("read");
const WriteFn real_write = libc<WriteFn>("write");
const SocketpairFn real_socketpair = libc<SocketpairFn>("socketpair");

void BM_HookedReadPassThrough(benchmark::State& state) {
  int fd = ::open("/dev/zero", O_RDONLY);
  char c;
  for (auto _ : state) benchmark::DoNotOptimize(::read(fd, &c, 1));
  ::close(fd);
}
BENCHMARK(BM_HookedReadPassThrough);

void BM_LibcRead(benchmark::State& state) {
  int fd = ::open("/dev/zero", O_RDONLY);
  char c;
  for (auto _ : state) benchmark::DoNotOptimize(real_read(fd, &c, 1));
  ::close(fd);
}
BENCHMARK(BM_LibcRead);

// The same check every hooked call makes, without the syscall: the table lookup alone.
void BM_HookedGetpidLike(benchmark::State& state) {
  int fd = ::open("/dev/zero", O_RDONLY);
  char c;
  for (auto _ : state) benchmark::DoNotOptimize(::read(fd, &c, 0));
  ::close(fd);
}
BENCHMARK(BM_HookedGetpidLike);

void BM_LibcGetpidLike(benchmark::State& state) {
  int fd = ::open("/dev/zero", O_RDONLY);
  char c;
  for (auto _ : state) benchmark::DoNotOptimize(real_read(fd, &c, 0));
  ::close(fd);
}
BENCHMARK(BM_LibcGetpidLike);

// One round trip per iteration: main writes 1 byte, the peer reads (into 64 bytes, as
// programs do) and writes it back, main reads.
void BM_HookedSocketPingPong(benchmark::State& state) {
  int sv[2];
  ::socketpair(AF_UNIX, SOCK_STREAM, 0, sv);  // hooked: blocking for the program
  auto peer = green::spawn([fd = sv[1]] {
    char c[64];
    while (::read(fd, c, sizeof(c)) == 1 && c[0] != 'q') ::write(fd, c, 1);
  });
  char c[64] = {'x'};
  for (auto _ : state) {
    ::write(sv[0], c, 1);
    ::read(sv[0], c, sizeof(c));
  }
  c[0] = 'q';
  ::write(sv[0], c, 1);
  peer.join();
  ::close(sv[0]);
  ::close(sv[1]);
}
BENCHMARK(BM_HookedSocketPingPong);

ssize_t read_waiting(int fd, char* c) {
  for (;;) {
    ssize_t n = real_read(fd, c, 64);
    if (n >= 0 || errno != EAGAIN) return n;
    green::wait_read(fd);
  }
}

void BM_WaitReadPingPong(benchmark::State& state) {
  int sv[2];
  real_socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
  green::fd_opened(sv[0]);
  green::fd_opened(sv[1]);
  auto peer = green::spawn([fd = sv[1]] {
    char c[64];
    while (read_waiting(fd, c) == 1 && c[0] != 'q') real_write(fd, c, 1);
  });
  char c[64] = {'x'};
  for (auto _ : state) {
    real_write(sv[0], c, 1);
    read_waiting(sv[0], c);
  }
  c[0] = 'q';
  real_write(sv[0], c, 1);
  peer.join();
  green::fd_closing(sv[0]);
  green::fd_closing(sv[1]);
  ::close(sv[0]);
  ::close(sv[1]);
}
BENCHMARK(BM_WaitReadPingPong);

void BM_GreenSocketPingPong(benchmark::State& state) {
  int sv[2];
  real_socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
  green::Socket a = green::Socket::from_fd(sv[0]);
  auto peer = green::spawn([b = green::Socket::from_fd(sv[1])]() mutable {
    char c[64];
    while (b.recv(static_cast<void*>(c), sizeof(c)) == 1 && c[0] != 'q') b.send(static_cast<const void*>(c), std::size_t{1});
  });
  char c[64] = {'x'};
  for (auto _ : state) {
    a.send(static_cast<const void*>(c), std::size_t{1});
    a.recv(static_cast<void*>(c), sizeof(c));
  }
  c[0] = 'q';
  a.send(static_cast<const void*>(c), std::size_t{1});
  peer.join();
}
BENCHMARK(BM_GreenSocketPingPong);

void BM_ThreadPingPong(benchmark::State& state) {
  int sv[2];
  real_socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  std::thread peer([fd = sv[1]] {
    char c[64];
    while (real_read(fd, c, sizeof(c)) == 1 && c[0] != 'q') real_write(fd, c, 1);
  });
  char c[64] = {'x'};
  for (auto _ : state) {
    real_write(sv[0], c, 1);
    real_read(sv[0], c, sizeof(c));
  }
  c[0] = 'q';
  real_write(sv[0], c, 1);
  peer.join();
  ::close(sv[0]);
  ::close(sv[1]);
}
BENCHMARK(BM_ThreadPingPong)->UseRealTime();

}  // namespace

GREEN_RATIO(hooked_read, "read() passing through the hook / libc read (1 byte of /dev/zero)",
            "BM_HookedReadPassThrough", "BM_LibcRead", green_bench::at_most(1.1));
GREEN_RATIO(hooked_check, "read(fd, buf, 0) through the hook / libc", "BM_HookedGetpidLike", "BM_LibcGetpidLike",
            green_bench::at_most(1.2));
GREEN_RATIO(hooked_vs_wait_read, "blocking socket round trip in greenlets: hooked read/write / green::wait_read by hand",
            "BM_HookedSocketPingPong", "BM_WaitReadPingPong", green_bench::at_most(1.2));
GREEN_RATIO(hooked_vs_socket, "blocking socket round trip in greenlets: hooked read/write / green::Socket",
            "BM_HookedSocketPingPong", "BM_GreenSocketPingPong", green_bench::at_most(1.2));
GREEN_RATIO(hooked_vs_threads, "blocking socket round trip: hooked, in greenlets / unpatched, in OS threads",
            "BM_HookedSocketPingPong", "BM_ThreadPingPong", green_bench::at_most(1.0));
