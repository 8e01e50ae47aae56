// green/lock.hpp: threading.Lock / RLock, gevent.lock.
//
// Lock is a mutual-exclusion lock with no owner, like Python's: any greenlet, or any OS
// thread, may release it, and releasing it while it is not held throws std::logic_error.
// RLock is reentrant: the greenlet that holds it may acquire it again, and must release it
// as many times; releasing an RLock the calling greenlet does not hold throws
// std::logic_error. (The identity is the running greenlet, so an RLock also tells apart
// the greenlets of one OS thread, which a std::recursive_mutex cannot.)
//
// Both serve waiters first come, first served: release() hands the lock to the longest
// waiter, and nobody acquires it ahead of a waiter (no barging). A waiter that is killed,
// or hit by a green::Timeout, right after the lock was handed to it releases it again
// before the exception leaves acquire(). release() of a Lock is safe from any OS thread.
// acquire(blocking, timeout) returns false when blocking is false and the lock is taken,
// or when `timeout` seconds pass; it honours an enclosing green::Timeout. The uncontended
// path is a spin lock round trip: no allocation, no system call, no switch.
//
// Both are Lockable and TimedLockable: std::lock_guard, std::unique_lock and
// std::scoped_lock work, and so does Condition over either.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>

#include "green/raw_greenlet.hpp"
#include "green/semaphore.hpp"

namespace green {

namespace detail {
// The running greenlet, read inline from the switch state (RawGreenlet::current() is a
// call into the library): RLock compares it on every acquire and release.
inline const RawGreenlet* running_greenlet() {
  const SwitchState* ts = tls_switch_state;
  return ts != nullptr ? ts->current : &RawGreenlet::current();
}
[[noreturn]] void throw_rlock_not_owned(bool held_by_another);
}  // namespace detail

class Lock : public detail::TimedLockable<Lock> {
 public:
  Lock() noexcept : permits_(1) {}
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  bool acquire(bool blocking = true, std::optional<double> timeout = {}) {
    detail::check_acquire_args(blocking, timeout, "Lock.acquire");
    return permits_.try_take() || permits_.take(blocking, timeout, "Lock.acquire");
  }
  // Hands the lock to the first waiter, or unlocks it. std::logic_error if it is not held.
  void release() { permits_.give_bounded(1, 1, "green::Lock::release: the lock is not held"); }
  bool locked() const noexcept { return permits_.count() == 0; }

 private:
  friend class Condition;  // re-acquires through take_through (see Condition::wait)
  detail::Permits permits_;
};

class RLock : public detail::TimedLockable<RLock> {
 public:
  RLock() noexcept : permits_(1) {}
  RLock(const RLock&) = delete;
  RLock& operator=(const RLock&) = delete;

  bool acquire(bool blocking = true, std::optional<double> timeout = {}) {
    detail::check_acquire_args(blocking, timeout, "RLock.acquire");
    const RawGreenlet* me = detail::running_greenlet();
    if (owner_.load(std::memory_order_relaxed) == me) {
      ++count_;
      return true;
    }
    if (!permits_.try_take() && !permits_.take(blocking, timeout, "RLock.acquire")) return false;
    owner_.store(me, std::memory_order_relaxed);
    count_ = 1;
    return true;
  }
  // std::logic_error unless the calling greenlet holds the lock.
  void release() {
    const RawGreenlet* owner = owner_.load(std::memory_order_relaxed);
    if (owner != detail::running_greenlet()) [[unlikely]]
      detail::throw_rlock_not_owned(owner != nullptr);
    if (--count_ > 0) return;
    owner_.store(nullptr, std::memory_order_relaxed);
    permits_.give();
  }
  bool locked() const noexcept { return owner_.load(std::memory_order_acquire) != nullptr; }
  // Whether the calling greenlet holds it.
  bool is_owned() const { return owner_.load(std::memory_order_relaxed) == detail::running_greenlet(); }
  // How many times the calling greenlet holds it (0 if it does not).
  std::size_t count() const { return is_owned() ? count_ : 0; }

 private:
  friend class Condition;
  // For Condition::wait: release completely, then take back with the same count.
  std::size_t release_all();
  void acquire_restore(std::size_t count);

  detail::Permits permits_;
  std::atomic<const RawGreenlet*> owner_{nullptr};
  std::size_t count_ = 0;  // only the owner touches it
};

}  // namespace green
