// Mutexes and spin locks under --threads.
//
// A greenlet takes a mutex with glibc's own trylock, so real threads sharing the mutex are
// excluded as usual, and records itself as the owner in the mutex's __list field, which
// glibc uses only for robust mutexes (robust, priority-inheriting/-protecting and
// process-shared mutexes pass through untouched). glibc knows owners by OS thread only, so
// the greenlet owner is what makes recursive and error-checking mutexes right between the
// greenlets of one thread. A greenlet that finds the mutex taken parks on its address;
// every hooked unlock (greenlet or real thread) wakes one parked greenlet. The one release
// no hook sees, a real thread's pthread_cond_wait unlocking the mutex inside glibc, is
// covered by polling while the holder is not a greenlet (1 ms, backing off to 16 ms).
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>

#include "real.hpp"
#include "threads.hpp"

namespace green::patch::threads {
namespace {

static_assert(sizeof(pthread_mutex_t) == 40, "glibc x86-64/aarch64 mutex layout expected");

constexpr int kRobust = 16, kPrioInherit = 32, kPrioProtect = 64, kPshared = 128;

// The greenlet owner and the number of parked greenlets live in the unused __list.
struct Mutex {
  pthread_mutex_t* m;
  GreenletBase* owner() const noexcept {
    return reinterpret_cast<GreenletBase*>(__atomic_load_n(&m->__data.__list.__prev, __ATOMIC_SEQ_CST));
  }
  // Written only by the holder, before glibc's unlock (a release) or after its trylock.
  void set_owner(GreenletBase* g) const noexcept {
    __atomic_store_n(&m->__data.__list.__prev, reinterpret_cast<__pthread_list_t*>(g), __ATOMIC_RELEASE);
  }
  // __list.__next counts parked greenlets (as a pointer-sized integer).
  void add_parked(long n) const noexcept {
    auto* word = reinterpret_cast<std::uintptr_t*>(&m->__data.__list.__next);
    __atomic_fetch_add(word, static_cast<std::uintptr_t>(n), __ATOMIC_SEQ_CST);
  }
  bool any_parked() const noexcept {
    return __atomic_load_n(reinterpret_cast<std::uintptr_t*>(&m->__data.__list.__next), __ATOMIC_SEQ_CST) != 0;
  }
  int kind() const noexcept { return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED); }
  bool ours() const noexcept { return (kind() & (kRobust | kPrioInherit | kPrioProtect | kPshared)) == 0; }
  int type() const noexcept { return kind() & 3; }
};

int take(const Mutex& mx, GreenletBase& self) noexcept {
  if (GREEN_REAL(pthread_mutex_trylock)(mx.m) != 0) return EBUSY;
  mx.set_owner(&self);
  return 0;
}

}  // namespace

int mutex_lock(pthread_mutex_t* m, GreenletBase& self, const Deadline* deadline, bool try_only) noexcept {
  Mutex mx{m};
  if (mx.owner() == &self) {
    if (mx.type() == PTHREAD_MUTEX_RECURSIVE) return GREEN_REAL(pthread_mutex_trylock)(m);  // counts
    if (try_only) return EBUSY;
    if (mx.type() == PTHREAD_MUTEX_ERRORCHECK) return EDEADLK;
    // A normal mutex locked twice deadlocks the greenlet, as it would the thread.
  } else if (mx.owner() == nullptr && take(mx, self) == 0) {
    return 0;
  }
  if (try_only) return EBUSY;
  SavedErrno saved;
  double poll = 0.001;
  for (;;) {
    Waiter w("pthread_mutex_lock");
    Parked node(w);
    bool acquired = false, green_holder = false;
    mx.add_parked(1);
    // Counted before the retry: an unlock either sees us parked or lets the retry succeed.
    lot::park_if(m, node, [&] {
      GreenletBase* o = mx.owner();
      if (o == nullptr && take(mx, self) == 0) {
        acquired = true;
        return false;
      }
      green_holder = o != nullptr;
      return true;
    });
    if (acquired) {
      mx.add_parked(-1);
      return 0;
    }
    std::optional<double> timeout = seconds_left(deadline);
    if (!green_holder) {
      timeout = timeout ? std::min(*timeout, poll) : poll;
      poll = std::min(poll * 2, 0.016);
    }
    if (deadline != nullptr && deadline->left() <= 0) {
      lot::unpark(node);
      mx.add_parked(-1);
      return ETIMEDOUT;
    }
    block(self, w, timeout);
    lot::unpark(node);
    mx.add_parked(-1);
  }
}

int mutex_unlock(pthread_mutex_t* m, GreenletBase* self, const void* caller) noexcept {
  Mutex mx{m};
  if (!mx.ours()) return GREEN_REAL(pthread_mutex_unlock)(m);
  GreenletBase* o = mx.owner();
  int result;
  if (o != nullptr) {
    const int type = mx.type();
    const bool checked = type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK;
    // glibc would accept another greenlet of the owner's thread; other callers (real
    // threads, code after the hub is gone) get glibc's own check.
    if (self == nullptr && checked) self = self_for(caller);  // only asked when it matters
    if (self != nullptr && o != self && checked) return EPERM;
    const bool releases = type != PTHREAD_MUTEX_RECURSIVE || m->__data.__count <= 1;
    if (releases) mx.set_owner(nullptr);
    result = GREEN_REAL(pthread_mutex_unlock)(m);
    if (result != 0 && releases) mx.set_owner(o);
    if (!releases) return result;
  } else {
    result = GREEN_REAL(pthread_mutex_unlock)(m);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (result == 0 && mx.any_parked()) lot::wake(m, 1);
  return result;
}

}  // namespace green::patch::threads

namespace gt = green::patch::threads;

using gt::mutex_green_capable;

extern "C" {

int pthread_mutex_lock(pthread_mutex_t* m) noexcept {
  green::GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !mutex_green_capable(m)) return GREEN_REAL(pthread_mutex_lock)(m);
  return gt::mutex_lock(m, *self, nullptr, false);
}

int pthread_mutex_trylock(pthread_mutex_t* m) noexcept {
  green::GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !mutex_green_capable(m)) return GREEN_REAL(pthread_mutex_trylock)(m);
  return gt::mutex_lock(m, *self, nullptr, true);
}

int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* abstime) noexcept {
  green::GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !mutex_green_capable(m)) return GREEN_REAL(pthread_mutex_timedlock)(m, abstime);
  if (!gt::valid_timespec(abstime)) return EINVAL;
  gt::Deadline deadline{CLOCK_REALTIME, *abstime};
  return gt::mutex_lock(m, *self, &deadline, false);
}

int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock, const struct timespec* abstime) noexcept {
  green::GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr || !mutex_green_capable(m)) return GREEN_REAL(pthread_mutex_clocklock)(m, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  if (!gt::valid_timespec(abstime)) return EINVAL;
  gt::Deadline deadline{clock, *abstime};
  return gt::mutex_lock(m, *self, &deadline, false);
}

int pthread_mutex_unlock(pthread_mutex_t* m) noexcept {
  if (!gt::enabled()) return GREEN_REAL(pthread_mutex_unlock)(m);
  // Real threads and green's own code also come here: their unlock may free a greenlet.
  return gt::mutex_unlock(m, nullptr, __builtin_return_address(0));
}

// A spin lock held by a greenlet is released only when that greenlet runs again: spin by
// yielding to the others.
int pthread_spin_lock(pthread_spinlock_t* lock) noexcept {
  green::GreenletBase* self = GREEN_THREADS_SELF();
  if (self == nullptr) return GREEN_REAL(pthread_spin_lock)(lock);
  gt::SavedErrno saved;
  while (GREEN_REAL(pthread_spin_trylock)(lock) != 0) gt::yield_now(*self);
  return 0;
}

}  // extern "C"
