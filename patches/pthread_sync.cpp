// Condition variables, rwlocks, semaphores, barriers and once under --threads.
//
// Condition variables: a waiting greenlet parks on the condvar's address (glibc's state is
// left alone, so real waiters keep working); signal and broadcast wake real waiters through
// glibc and parked greenlets through the lot. A timed wait uses the clock the condvar was
// initialised with (pthread_condattr_setclock), which glibc keeps in bit 1 of __wrefs.
// Rwlocks and semaphores: glibc's try-variants take them, greenlets park until a hooked
// release. Barriers are implemented here entirely (their state lives in the object).
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "real.hpp"
#include "threads.hpp"

namespace gt = green::patch::threads;
using green::GreenletBase;
using green::Waiter;

namespace green::patch::threads {
namespace {

static_assert(sizeof(pthread_cond_t) == 48 && sizeof(pthread_barrier_t) >= 16 && sizeof(sem_t) == 32);

clockid_t cond_clock(const pthread_cond_t* c) noexcept {
  return (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) & 2) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

int cond_wait(pthread_cond_t* c, pthread_mutex_t* m, GreenletBase& self, const Deadline* deadline) noexcept {
  SavedErrno saved;
  Waiter w("pthread_cond_wait");
  Parked node(w);
  lot::park_if(c, node, [] { return true; });
  if (int r = mutex_unlock(m, &self, nullptr); r != 0) {
    lot::unpark(node);
    return r;
  }
  int result = 0;
  std::optional<double> timeout = seconds_left(deadline);
  // An interrupted wait (kill) is a spurious wake-up: the caller's loop checks again.
  if (timeout && *timeout <= 0)
    result = ETIMEDOUT;
  else if (block(self, w, timeout) == Woke::timed_out)
    result = ETIMEDOUT;
  lot::unpark(node);
  if (w.reason() == Waiter::kNotified) result = 0;  // a signal that raced the timeout is not lost
  while (mutex_lock(m, self, nullptr, false) != 0) {
  }
  return result;
}

// -- rwlocks: the greenlet holding the write lock lives in the unused __pad2 --
std::atomic<GreenletBase*>& green_writer(pthread_rwlock_t* rw) noexcept {
  static_assert(sizeof(rw->__data.__pad2) == sizeof(void*));
  return *reinterpret_cast<std::atomic<GreenletBase*>*>(&rw->__data.__pad2);
}

int rwlock_lock(pthread_rwlock_t* rw, GreenletBase& self, bool write, const Deadline* deadline, bool try_only) noexcept {
  auto attempt = [&]() noexcept {
    int r = write ? GREEN_REAL(pthread_rwlock_trywrlock)(rw) : GREEN_REAL(pthread_rwlock_tryrdlock)(rw);
    if (r == 0 && write) green_writer(rw).store(&self, std::memory_order_relaxed);
    return r;
  };
  int r = attempt();
  if (r != EBUSY) return r;
  if (green_writer(rw).load(std::memory_order_relaxed) == &self) return EDEADLK;
  if (try_only) return EBUSY;
  SavedErrno saved;
  for (;;) {
    Waiter w(write ? "pthread_rwlock_wrlock" : "pthread_rwlock_rdlock");
    Parked node(w);
    if (!lot::park_if(rw, node, [&] { return (r = attempt()) == EBUSY; })) return r;
    std::optional<double> timeout = seconds_left(deadline);
    if (timeout && *timeout <= 0) {
      lot::unpark(node);
      return ETIMEDOUT;
    }
    block(self, w, timeout);
    lot::unpark(node);
  }
}

// -- semaphores --
int sem_wait_green(sem_t* s, GreenletBase& self, const Deadline* deadline) noexcept {
  SavedErrno saved;
  for (;;) {
    Waiter w("sem_wait");
    Parked node(w);
    bool acquired = false;
    lot::park_if(s, node, [&] {
      acquired = GREEN_REAL(sem_trywait)(s) == 0;
      return !acquired;
    });
    if (acquired) return 0;
    std::optional<double> timeout = seconds_left(deadline);
    if (timeout && *timeout <= 0) {
      lot::unpark(node);
      return ETIMEDOUT;
    }
    Woke woke = block(self, w, timeout);
    lot::unpark(node);
    if (woke == Woke::interrupted) return EINTR;  // sem_wait's contract: a signal gives EINTR
  }
}

// -- barriers: all ours while the family is on --
struct Barrier {
  std::uint32_t magic;
  std::uint32_t count;
  std::uint32_t arrived;
  std::uint32_t generation;
};
constexpr std::uint32_t kBarrierMagic = 0x67726e62;  // "grnb"
static_assert(sizeof(Barrier) <= sizeof(pthread_barrier_t));

// -- once: glibc's encoding (0: not run, 1: running, 2: done), so real threads interoperate --
constexpr int kOnceRunning = 1, kOnceDone = 2;

}  // namespace
}  // namespace green::patch::threads

extern "C" {

// ---- condition variables ----

int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !gt::mutex_green_capable(m)) return GREEN_REAL(pthread_cond_wait)(c, m);
  return gt::cond_wait(c, m, *self, nullptr);
}

int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* abstime) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !gt::mutex_green_capable(m)) return GREEN_REAL(pthread_cond_timedwait)(c, m, abstime);
  if (!gt::valid_timespec(abstime)) return EINVAL;
  gt::Deadline deadline{gt::cond_clock(c), *abstime};
  return gt::cond_wait(c, m, *self, &deadline);
}

int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const struct timespec* abstime) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !gt::mutex_green_capable(m)) return GREEN_REAL(pthread_cond_clockwait)(c, m, clock, abstime);
  if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || !gt::valid_timespec(abstime)) return EINVAL;
  gt::Deadline deadline{clock, *abstime};
  return gt::cond_wait(c, m, *self, &deadline);
}

int pthread_cond_signal(pthread_cond_t* c) noexcept {
  int r = GREEN_REAL(pthread_cond_signal)(c);
  if (gt::enabled()) gt::lot::wake(c, 1);
  return r;
}

int pthread_cond_broadcast(pthread_cond_t* c) noexcept {
  int r = GREEN_REAL(pthread_cond_broadcast)(c);
  if (gt::enabled()) gt::lot::wake(c, SIZE_MAX);
  return r;
}

// ---- rwlocks ----

#define GREEN_RWLOCK_HOOK(name, write, try_only)                                    \
  int name(pthread_rwlock_t* rw) noexcept {                                         \
    GreenletBase* self = GREEN_THREADS_SELF();                                      \
    if (self == nullptr) return GREEN_REAL(name)(rw);                               \
    return gt::rwlock_lock(rw, *self, write, nullptr, try_only);                    \
  }
GREEN_RWLOCK_HOOK(pthread_rwlock_rdlock, false, false)
GREEN_RWLOCK_HOOK(pthread_rwlock_wrlock, true, false)
GREEN_RWLOCK_HOOK(pthread_rwlock_tryrdlock, false, true)
GREEN_RWLOCK_HOOK(pthread_rwlock_trywrlock, true, true)
#undef GREEN_RWLOCK_HOOK

#define GREEN_RWLOCK_TIMED_HOOK(name, write)                                        \
  int name(pthread_rwlock_t* rw, const struct timespec* abstime) noexcept {         \
    GreenletBase* self = GREEN_THREADS_SELF();                                      \
    if (self == nullptr) return GREEN_REAL(name)(rw, abstime);                      \
    if (!gt::valid_timespec(abstime)) return EINVAL;                                \
    gt::Deadline deadline{CLOCK_REALTIME, *abstime};                                \
    return gt::rwlock_lock(rw, *self, write, &deadline, false);                     \
  }
GREEN_RWLOCK_TIMED_HOOK(pthread_rwlock_timedrdlock, false)
GREEN_RWLOCK_TIMED_HOOK(pthread_rwlock_timedwrlock, true)
#undef GREEN_RWLOCK_TIMED_HOOK

#define GREEN_RWLOCK_CLOCK_HOOK(name, write)                                                   \
  int name(pthread_rwlock_t* rw, clockid_t clock, const struct timespec* abstime) noexcept {   \
    GreenletBase* self = GREEN_THREADS_SELF();                                                 \
    if (self == nullptr) return GREEN_REAL(name)(rw, clock, abstime);                          \
    if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || !gt::valid_timespec(abstime)) \
      return EINVAL;                                                                           \
    gt::Deadline deadline{clock, *abstime};                                                    \
    return gt::rwlock_lock(rw, *self, write, &deadline, false);                                \
  }
GREEN_RWLOCK_CLOCK_HOOK(pthread_rwlock_clockrdlock, false)
GREEN_RWLOCK_CLOCK_HOOK(pthread_rwlock_clockwrlock, true)
#undef GREEN_RWLOCK_CLOCK_HOOK

int pthread_rwlock_unlock(pthread_rwlock_t* rw) noexcept {
  if (!gt::enabled()) return GREEN_REAL(pthread_rwlock_unlock)(rw);
  GreenletBase* self = GREEN_THREADS_SELF();
  auto& writer = gt::green_writer(rw);
  GreenletBase* w = writer.load(std::memory_order_relaxed);
  if (w != nullptr && w == self) writer.store(nullptr, std::memory_order_relaxed);
  int r = GREEN_REAL(pthread_rwlock_unlock)(rw);
  if (r != 0 && w != nullptr && w == self) writer.store(w, std::memory_order_relaxed);
  // Readers and writers retry; the one that gets it is glibc's choice (reader preference).
  if (r == 0) gt::lot::wake(rw, SIZE_MAX);
  return r;
}

// ---- semaphores ----

int sem_wait(sem_t* s) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(sem_wait)(s);
  if (int err = gt::sem_wait_green(s, *self, nullptr)) {
    errno = err;
    return -1;
  }
  return 0;
}

int sem_timedwait(sem_t* s, const struct timespec* abstime) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(sem_timedwait)(s, abstime);
  int err = EINVAL;
  if (gt::valid_timespec(abstime)) {
    gt::Deadline deadline{CLOCK_REALTIME, *abstime};
    err = gt::sem_wait_green(s, *self, &deadline);
  }
  if (err == 0) return 0;
  errno = err;
  return -1;
}

int sem_clockwait(sem_t* s, clockid_t clock, const struct timespec* abstime) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(sem_clockwait)(s, clock, abstime);
  int err = EINVAL;
  if ((clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC) && gt::valid_timespec(abstime)) {
    gt::Deadline deadline{clock, *abstime};
    err = gt::sem_wait_green(s, *self, &deadline);
  }
  if (err == 0) return 0;
  errno = err;
  return -1;
}

int sem_post(sem_t* s) noexcept {
  int r = GREEN_REAL(sem_post)(s);
  if (r == 0 && gt::enabled()) {
    gt::SavedErrno saved;
    gt::lot::wake(s, 1);
  }
  return r;
}

// ---- barriers ----

int pthread_barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* attr, unsigned count) noexcept {
  if (!gt::enabled()) return GREEN_REAL(pthread_barrier_init)(b, attr, count);
  if (count == 0) return EINVAL;
  auto* state = reinterpret_cast<gt::Barrier*>(b);
  *state = gt::Barrier{gt::kBarrierMagic, count, 0, 0};
  return 0;
}

int pthread_barrier_destroy(pthread_barrier_t* b) noexcept {
  if (!gt::enabled()) return GREEN_REAL(pthread_barrier_destroy)(b);
  auto* state = reinterpret_cast<gt::Barrier*>(b);
  gt::lot::lock();
  int r = state->magic != gt::kBarrierMagic ? EINVAL : state->arrived != 0 ? EBUSY : 0;
  if (r == 0) state->magic = 0;
  gt::lot::unlock();
  return r;
}

int pthread_barrier_wait(pthread_barrier_t* b) {
  if (!gt::enabled()) return GREEN_REAL(pthread_barrier_wait)(b);
  auto* state = reinterpret_cast<gt::Barrier*>(b);
  gt::lot::lock();
  if (state->magic != gt::kBarrierMagic) {
    gt::lot::unlock();
    return EINVAL;
  }
  const std::uint32_t generation = state->generation;
  const bool last = ++state->arrived == state->count;
  if (last) {
    state->arrived = 0;
    __atomic_store_n(&state->generation, generation + 1, __ATOMIC_RELEASE);
  }
  gt::lot::unlock();
  if (last) {
    gt::lot::wake(b, SIZE_MAX);
    return PTHREAD_BARRIER_SERIAL_THREAD;
  }
  auto passed = [&] { return __atomic_load_n(&state->generation, __ATOMIC_ACQUIRE) != generation; };
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) {
    // A real thread at a barrier shared with greenlets: it cannot park; poll.
    const timespec pause{0, 100'000};
    while (!passed()) GREEN_REAL(nanosleep)(&pause, nullptr);
    return 0;
  }
  gt::SavedErrno saved;
  for (;;) {
    Waiter w("pthread_barrier_wait");
    gt::Parked node(w);
    if (!gt::lot::park_if(b, node, [&] { return !passed(); })) return 0;
    gt::block(*self, w, std::nullopt);
    gt::lot::unpark(node);
  }
}

// ---- once ----

int pthread_once(pthread_once_t* once, void (*init)()) {
  GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(pthread_once)(once, init);
  int* word = reinterpret_cast<int*>(once);
  auto finish = [word](int value) {
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
    GREEN_REAL(syscall)(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);  // real threads
    gt::lot::wake(word, SIZE_MAX);
  };
  gt::SavedErrno saved;
  double poll = 0.001;
  for (;;) {
    int value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (value & gt::kOnceDone) return 0;
    if (value == 0 && __atomic_compare_exchange_n(word, &value, gt::kOnceRunning, false, __ATOMIC_ACQ_REL,
                                                  __ATOMIC_ACQUIRE)) {
      try {
        init();
      } catch (...) {
        finish(0);  // an init that throws (or a thread exiting inside it) leaves the once not run
        throw;
      }
      finish(gt::kOnceDone);
      return 0;
    }
    // Another greenlet or a real thread runs it: wait (polling covers a real thread, which
    // wakes only futex waiters).
    Waiter w("pthread_once");
    gt::Parked node(w);
    if (!gt::lot::park_if(word, node, [&] { return __atomic_load_n(word, __ATOMIC_ACQUIRE) == value; })) continue;
    gt::block(*self, w, poll);
    poll = std::min(poll * 2, 0.016);
    gt::lot::unpark(node);
  }
}

}  // extern "C"
