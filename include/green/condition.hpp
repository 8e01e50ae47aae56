// green/condition.hpp: threading.Condition.
//
// A Condition pairs a lock (its own RLock by default, or a Lock or RLock given to it) with
// a FIFO of waiting greenlets. wait() requires the calling greenlet to hold the lock (an
// RLock held by this greenlet; a Lock held at all, since a Lock has no owner), releases it
// completely, blocks until notify()/notify_all() or the timeout, and re-acquires it, with
// an RLock's recursion count restored, before it returns or throws. That holds for every
// exit: a timeout, a green::Timeout or a kill during the wait still re-acquire first, so a
// std::unique_lock around the wait stays correct while the exception unwinds. (The one
// exception is LoopExit: nothing could ever release the lock.)
//
// notify(n) wakes the n longest waiters, notify_all() all of them; both require the lock,
// like Python. A waiter that was notified and then killed before it returned passes its
// notification on to the next waiter, so a kill never swallows a notify. Waits that return
// without a notify (timeout) return false. As with every condition variable, re-check the
// predicate after waking: wait_for(predicate, timeout) does it for you.
//
// Condition is itself Lockable (it locks its lock), so std::unique_lock<green::Condition>
// works. Nothing is allocated per wait.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "green/linkable.hpp"
#include "green/lock.hpp"

namespace green {

class Condition : public Linkable {
 public:
  // Over its own RLock (Python's default).
  Condition() noexcept : rlock_(&own_) {}
  explicit Condition(Lock& lock) noexcept : lock_(&lock) {}
  explicit Condition(RLock& lock) noexcept : rlock_(&lock) {}

  bool acquire(bool blocking = true, std::optional<double> timeout = {}) {
    return lock_ ? lock_->acquire(blocking, timeout) : rlock_->acquire(blocking, timeout);
  }
  void release() { lock_ ? lock_->release() : rlock_->release(); }
  void lock() { acquire(); }
  bool try_lock() { return acquire(false); }
  void unlock() { release(); }

  // Releases the lock, waits for a notify or `timeout` seconds, re-acquires the lock.
  // Returns whether it was notified. std::logic_error if the lock is not held.
  bool wait(std::optional<double> timeout = {});
  // Waits until predicate() is true or `timeout` seconds pass in total; returns the last
  // value of predicate(). Call with the lock held; predicate runs with the lock held.
  template <class Predicate>
  bool wait_for(Predicate predicate, std::optional<double> timeout = {});

  // Wakes up to `n` waiters, longest waiting first. std::logic_error without the lock.
  void notify(std::size_t n = 1);
  void notify_all();

 private:
  bool is_owned() const { return lock_ ? lock_->locked() : rlock_->is_owned(); }
  void check_owned(const char* what) const;

  RLock own_;
  Lock* lock_ = nullptr;
  RLock* rlock_ = nullptr;
};

template <class Predicate>
bool Condition::wait_for(Predicate predicate, std::optional<double> timeout) {
  using clock = std::chrono::steady_clock;
  bool result = static_cast<bool>(predicate());
  if (result) return true;
  const auto start = clock::now();
  while (!result) {
    std::optional<double> left;
    if (timeout) {
      left = *timeout - std::chrono::duration<double>(clock::now() - start).count();
      if (*left <= 0) break;
    }
    wait(left);
    result = static_cast<bool>(predicate());
  }
  return result;
}

}  // namespace green
