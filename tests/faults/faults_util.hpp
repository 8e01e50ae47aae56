// Helpers shared by the fault-injection tests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "green/green.hpp"
#include "io/io_test_util.hpp"

namespace green::faults {

inline std::atomic<std::uint64_t> signals_delivered{0};

// An EINTR storm: SIGALRM every `interval_us` microseconds, to this OS thread (a
// thread-directed POSIX timer, so the hub's own epoll_wait is interrupted) and to the
// process (an ITIMER_REAL timer, which lands on whichever thread the kernel picks: thread
// pool workers and helper threads too). The handler does nothing and is installed without
// SA_RESTART, so every blocking system call it interrupts fails with EINTR.
class SignalStorm {
 public:
  explicit SignalStorm(long interval_us = 100) {
    struct sigaction sa {};
    sa.sa_handler = [](int) { signals_delivered.fetch_add(1, std::memory_order_relaxed); };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: interrupted calls return EINTR
    EXPECT_EQ(::sigaction(SIGALRM, &sa, &old_), 0);
    sigevent ev{};
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGALRM;
    ev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
    EXPECT_EQ(::timer_create(CLOCK_MONOTONIC, &ev, &timer_), 0);
    const itimerspec spec{{0, interval_us * 1000}, {0, interval_us * 1000}};
    EXPECT_EQ(::timer_settime(timer_, 0, &spec, nullptr), 0);
    const itimerval every{{0, interval_us}, {0, interval_us}};
    EXPECT_EQ(::setitimer(ITIMER_REAL, &every, nullptr), 0);
    start_ = signals_delivered.load();
  }
  SignalStorm(const SignalStorm&) = delete;
  SignalStorm& operator=(const SignalStorm&) = delete;
  ~SignalStorm() {
    const itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::timer_delete(timer_);
    ::sigaction(SIGALRM, &old_, nullptr);
  }
  // Signals delivered since the storm began.
  std::uint64_t delivered() const { return signals_delivered.load() - start_; }

 private:
  struct sigaction old_ {};
  timer_t timer_{};
  std::uint64_t start_ = 0;
};

using test::listener;
using test::tcp_pair;

// `n` bytes of a pattern that differs per `seed`, so misplaced bytes are caught.
inline std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// An echo handler: returns what it reads until the peer half-closes, then returns.
inline void echo(Socket& conn, const Address&) {
  char buf[16384];
  for (;;) {
    const std::size_t n = conn.recv(buf, sizeof(buf));
    if (n == 0) return;
    conn.sendall(buf, n);
  }
}

// Sends `data` (in chunks, interleaved with reading) and reads back as many bytes; the
// echo must match. Returns what came back.
inline std::string echo_round(Socket& sock, const std::string& data) {
  std::string back;
  auto reader = spawn([&] { back = sock.recv_exact(data.size()); });
  sock.sendall(data);
  reader.get();
  return back;
}

}  // namespace green::faults
