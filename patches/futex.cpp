// futex(2) through syscall() and sched_yield under --threads.
//
// libstdc++ waits with raw futexes, not pthreads: std::future::wait/get (so std::async),
// std::atomic::wait, std::latch, std::counting_semaphore and std::barrier all call
// syscall(SYS_futex, ...). A greenlet's FUTEX_WAIT would block its whole OS thread, and
// with it the greenlet that is to wake it: here it parks on the address instead, and
// FUTEX_WAKE wakes parked greenlets as well as real waiters. Other syscalls, and futex
// operations other than WAIT/WAKE (and their _BITSET forms), pass through.
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "real.hpp"
#include "threads.hpp"

namespace gt = green::patch::threads;

namespace green::patch::threads {
namespace {

constexpr int kCommandMask = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);

long futex_wait(GreenletBase& self, const std::uint32_t* word, std::uint32_t expected, const timespec* timeout,
                bool absolute, clockid_t clock, unsigned bits) noexcept {
  if (bits == 0 || (timeout != nullptr && !valid_timespec(timeout))) return -EINVAL;
  Deadline deadline{};
  if (timeout != nullptr) {
    deadline.clock = absolute ? clock : CLOCK_MONOTONIC;
    if (absolute) {
      deadline.at = *timeout;
    } else {
      ::clock_gettime(CLOCK_MONOTONIC, &deadline.at);
      deadline.at.tv_sec += timeout->tv_sec;
      deadline.at.tv_nsec += timeout->tv_nsec;
      if (deadline.at.tv_nsec >= 1'000'000'000L) {
        deadline.at.tv_nsec -= 1'000'000'000L;
        ++deadline.at.tv_sec;
      }
    }
  }
  Waiter w("futex");
  Parked node(w, bits);
  if (!lot::park_if(word, node, [&] { return __atomic_load_n(word, __ATOMIC_SEQ_CST) == expected; })) return -EAGAIN;
  std::optional<double> left = seconds_left(timeout != nullptr ? &deadline : nullptr);
  Woke woke = left && *left <= 0 ? Woke::timed_out : block(self, w, left);
  lot::unpark(node);
  if (w.reason() == Waiter::kNotified) return 0;
  return woke == Woke::timed_out ? -ETIMEDOUT : -EINTR;
}

}  // namespace
}  // namespace green::patch::threads

extern "C" {

// Six arguments are always read, as glibc's own syscall() does (it loads the sixth from the
// caller's stack whatever the call passed): a call such as syscall(SYS_gettid) passes
// fewer, and AddressSanitizer would report those reads as a stack-buffer-underflow and
// abort the program. They are harmless here, so this function is not instrumented.
__attribute__((no_sanitize("address"))) long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& arg : a) arg = va_arg(ap, long);
  va_end(ap);
  if (number != SYS_futex || !gt::enabled()) return GREEN_REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);

  auto* word = reinterpret_cast<std::uint32_t*>(a[0]);
  const int op = static_cast<int>(a[1]);
  const int command = op & gt::kCommandMask;
  const auto val = static_cast<std::uint32_t>(a[2]);
  const auto bits = static_cast<unsigned>(a[5]);
  if (command == FUTEX_WAIT || command == FUTEX_WAIT_BITSET) {
    green::GreenletBase* self = GREEN_THREADS_SELF();
    if (self == nullptr) return GREEN_REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    const bool bitset = command == FUTEX_WAIT_BITSET;
    const clockid_t clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    const int saved = errno;
    long r = gt::futex_wait(*self, word, val, reinterpret_cast<const timespec*>(a[3]), bitset, clock,
                            bitset ? bits : ~0u);
    if (r < 0) {
      errno = static_cast<int>(-r);
      return -1;
    }
    errno = saved;
    return r;
  }
  if (command == FUTEX_WAKE || command == FUTEX_WAKE_BITSET) {
    long woken = GREEN_REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (woken < 0) return woken;
    const int saved = errno;
    const std::size_t n = val > static_cast<std::uint32_t>(woken) ? val - woken : 0;
    if (n > 0) woken += static_cast<long>(gt::lot::wake(word, n, command == FUTEX_WAKE_BITSET ? bits : ~0u));
    errno = saved;
    return woken;
  }
  return GREEN_REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// std::this_thread::yield and spin-wait loops: let the other greenlets run.
int sched_yield() noexcept {
  green::GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(sched_yield)();
  gt::SavedErrno saved;
  gt::yield_now(*self);
  return 0;
}

}  // extern "C"
