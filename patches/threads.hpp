// Shared machinery of the threads family (green-run --threads, GREEN_THREADS=1): who gets
// the cooperative path, the parking lot where greenlets wait on an address, deadlines and
// the blocking step every pthread hook uses.
//
// The pthread objects are the user's memory with glibc's layout, and the same object may
// be used by greenlets and by real threads (green's own workers, threads created before the
// hub existed). So a greenlet never replaces glibc's state: it takes the object with the
// real non-blocking call (trylock, trywait) and, when that fails, parks on the object's
// address until a hooked release wakes it. Releases always go through the hooks (also from
// real threads), so they wake parked greenlets as well as real waiters.
#pragma once

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include <cstddef>
#include <optional>

#include "config.hpp"
#include "green/hub.hpp"
#include "green/linkable.hpp"

// Internal to the library: no PLT indirection between its files.
#pragma GCC visibility push(hidden)
namespace green::patch::threads {

// Set once by the library's first constructor (before that, every hook passes through).
extern bool threads_on;
// Whether GREEN_THREADS is on: releases then also wake parked greenlets.
inline bool enabled() noexcept { return __atomic_load_n(&threads_on, __ATOMIC_RELAXED); }

// The greenlet to run a threads-family call cooperatively for, or nullptr to pass it
// through: the family is off, no hub yet, the hub itself, or a call made by green's own
// libraries (their internal locks are never held across a switch).
GreenletBase* self_for(const void* caller) noexcept;
#define GREEN_THREADS_SELF() ::green::patch::threads::self_for(__builtin_return_address(0))

// errno is per OS thread and so shared by the greenlets of one: a hook that may switch
// puts back the caller's errno before returning.
struct SavedErrno {
  int value = errno;
  ~SavedErrno() { errno = value; }
};

// An absolute time on a clock; `left()` is the seconds until it (<= 0: passed).
struct Deadline {
  clockid_t clock;
  timespec at;
  double left() const noexcept;
};
// EINVAL for a timespec POSIX rejects (tv_nsec out of range).
bool valid_timespec(const timespec* t) noexcept;
// Seconds, or nullopt for "no deadline".
std::optional<double> seconds_left(const Deadline* deadline) noexcept;

// A greenlet parked on an address; lives in the waiting greenlet's frame.
struct Parked {
  explicit Parked(Waiter& w, unsigned bits = ~0u) noexcept : waiter(&w), bitset(bits) {}
  Parked* prev = nullptr;
  Parked* next = nullptr;
  const void* key = nullptr;
  const Hub* hub = nullptr;  // of the parked greenlet
  Waiter* waiter;
  unsigned bitset;  // FUTEX_WAIT_BITSET's mask; ~0 elsewhere
};

// The parking lot: FIFO lists of parked greenlets keyed by object address. One spin lock
// guards it (critical sections are a few instructions; it is touched only on contention
// and on releases).
namespace lot {
// Under the lot's lock: calls still_blocked() and parks `node` on `key` if it returns true
// (the check and the parking are atomic with respect to wake()). Returns whether it parked.
template <class F>
bool park_if(const void* key, Parked& node, F&& still_blocked);
// Removes `node` if it is still parked (a wake, a timeout or a kill may have come first).
void unpark(Parked& node) noexcept;
// Wakes up to `n` greenlets parked on `key` (whose bitset meets `bits`); returns how many.
std::size_t wake(const void* key, std::size_t n, unsigned bits = ~0u) noexcept;

// -- implementation detail of park_if --
void lock() noexcept;
void unlock() noexcept;
void park_locked(const void* key, Parked& node);
}  // namespace lot

template <class F>
bool lot::park_if(const void* key, Parked& node, F&& still_blocked) {
  lock();
  bool parked = false;
  try {
    if (still_blocked()) {
      park_locked(key, node);
      parked = true;
    }
  } catch (...) {
    unlock();
    throw;
  }
  unlock();
  return parked;
}

enum class Woke { notified, timed_out, interrupted };

// Blocks the greenlet on `w` for up to `timeout`. Never throws: a kill or Timeout that
// arrives is kept for the greenlet's next green:: call and reported as `interrupted`; calls
// whose contract has EINTR return it, the others wait again. Waits made while such an
// exception is already pending block normally (it stays pending), so retry loops do not
// spin. A deadlock (LoopExit: nothing could ever wake the program) is reported on stderr
// and aborts, as a real deadlock would hang silently.
Woke block(GreenletBase& self, Waiter& w, std::optional<double> timeout) noexcept;

// Mutexes (pthread_mutex.cpp), shared with the condition variables.
int mutex_lock(pthread_mutex_t* m, GreenletBase& self, const Deadline* deadline, bool try_only) noexcept;
// The unlocking greenlet is `self`, or found from `caller` (its code address, see self_for)
// only when the mutex type needs the owner checked.
int mutex_unlock(pthread_mutex_t* m, GreenletBase* self, const void* caller) noexcept;
// Mutexes a greenlet can hold: not robust, priority-inheriting/-protecting or process-shared.
inline bool mutex_green_capable(pthread_mutex_t* m) noexcept {
  return (__atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED) & (16 | 32 | 64 | 128)) == 0;
}

// sleep(0) for a hook: yields to the other ready greenlets without throwing (an exception
// that arrives, or was already pending, is kept for the next green:: call).
void yield_now(GreenletBase& self) noexcept;

}  // namespace green::patch::threads
#pragma GCC visibility pop
