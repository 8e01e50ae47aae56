// green/semaphore.hpp: threading.Semaphore / BoundedSemaphore, gevent.lock.Semaphore.
//
// A Semaphore holds a count of permits. acquire() takes one, blocking while none is free;
// release() gives one back. Waiters are served strictly first come, first served: release()
// hands its permit straight to the longest waiter, so a greenlet that calls acquire() later
// never takes a permit ahead of one already waiting (no barging). A waiter that is killed,
// or hit by a green::Timeout, after it was handed a permit passes the permit on before the
// exception leaves acquire(): a kill never swallows a release. release() may be called from
// any OS thread; a waiter on another hub is woken through its hub's ev_async.
//
// Every blocking acquire takes an optional timeout in seconds (false when it passes) and
// honours an enclosing green::Timeout. Semaphores are Lockable and TimedLockable, so
// std::lock_guard, std::unique_lock and std::scoped_lock work.
//
// BoundedSemaphore(n) throws std::logic_error when release() would raise the count above n.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>

#include "green/linkable.hpp"

namespace green {

namespace detail {
// The permit counter and FIFO hand-off shared by Semaphore and Lock. Invariant: while a
// live waiter is linked, count_ is 0 (release hands permits to waiters, it does not count
// them), so the fast path may take any free permit without barging.
class Permits : public Linkable {
 public:
  explicit Permits(std::size_t initial) noexcept : count_(initial) {}

  bool try_take() noexcept {
    std::lock_guard guard(lock());
    if (count_ == 0) return false;
    --count_;
    return true;
  }
  // The blocking path; `what` names the call in errors and LoopExit messages.
  bool take(bool blocking, std::optional<double> timeout, const char* what);
  // Takes a permit even if kills or Timeouts arrive meanwhile (Condition's re-acquire must
  // not fail: the caller's lock guard would unlock a lock it does not hold). Returns the
  // first exception that arrived, for the caller to rethrow once it holds the permit.
  // LoopExit is the one exception it lets through: nothing could ever release the permit.
  std::exception_ptr take_through(const char* what);
  // Hands a permit to the first waiter that takes it, else counts it.
  void give() noexcept;
  // Gives `n` permits; std::logic_error (with `error`) first if that would exceed `limit`.
  void give_bounded(std::size_t n, std::size_t limit, const char* error);
  std::size_t count() const noexcept {
    std::lock_guard guard(lock());
    return count_;
  }

 private:
  std::size_t count_;
};

[[noreturn]] void throw_bad_timeout(const char* what, double timeout);
[[noreturn]] void throw_timeout_without_blocking(const char* what);

inline void check_acquire_args(bool blocking, const std::optional<double>& timeout, const char* what) {
  if (timeout) {
    if (!blocking) throw_timeout_without_blocking(what);
    if (!(*timeout >= 0)) throw_bad_timeout(what, *timeout);
  }
}

template <class Rep, class Period>
double to_seconds(const std::chrono::duration<Rep, Period>& d) {
  const double s = std::chrono::duration<double>(d).count();
  return s > 0 ? s : 0;
}
template <class Clock, class Duration>
double seconds_until(const std::chrono::time_point<Clock, Duration>& t) {
  return to_seconds(t - Clock::now());
}

// The standard Lockable and TimedLockable names, over Derived's acquire(blocking, timeout)
// and release(): shared by Semaphore, Lock and RLock.
template <class Derived>
class TimedLockable {
 public:
  void lock() { self().acquire(); }
  bool try_lock() { return self().acquire(false); }
  void unlock() { self().release(); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
    return self().acquire(true, to_seconds(d));
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& t) {
    return self().acquire(true, seconds_until(t));
  }

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};
}  // namespace detail

class Semaphore : public detail::TimedLockable<Semaphore> {
 public:
  // std::invalid_argument if `value` is negative.
  explicit Semaphore(long value = 1);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes a permit. blocking=false: only if one is free now. With `timeout` (seconds,
  // blocking only): false when it passes first. std::invalid_argument for a negative
  // timeout or a timeout without blocking.
  bool acquire(bool blocking = true, std::optional<double> timeout = {}) {
    detail::check_acquire_args(blocking, timeout, "Semaphore.acquire");
    return permits_.try_take() || permits_.take(blocking, timeout, "Semaphore.acquire");
  }
  // Gives back `n` permits (to waiters first, in FIFO order). Safe from any OS thread.
  // A BoundedSemaphore throws std::logic_error instead when the count would exceed its
  // initial value (and releases nothing).
  void release(std::size_t n = 1) {
    if (limit_ == kUnbounded) {
      for (std::size_t i = 0; i < n; ++i) permits_.give();
    } else {
      permits_.give_bounded(n, limit_, "green::BoundedSemaphore::release: released too many times");
    }
  }
  // Free permits now.
  std::size_t value() const noexcept { return permits_.count(); }
  bool locked() const noexcept { return value() == 0; }

 protected:
  static constexpr std::size_t kUnbounded = static_cast<std::size_t>(-1);
  Semaphore(long value, bool bounded);

 private:
  detail::Permits permits_;
  std::size_t limit_;
};

// A Semaphore whose release() throws std::logic_error past the initial value: catches a
// release without a matching acquire.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(long value = 1) : Semaphore(value, true) {}
};

}  // namespace green
