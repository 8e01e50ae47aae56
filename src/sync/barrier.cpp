#include "green/barrier.hpp"

#include <mutex>
#include <string>

#include "green/errors.hpp"
#include "green/greenlet.hpp"

// A port of CPython's threading.Barrier onto green's Condition and Lock; the difference is
// that a waiter leaving by exception breaks the barrier rather than leaving it one short.
namespace green {

Barrier::Barrier(std::size_t parties, std::function<void()> action, std::optional<double> timeout)
    : parties_(parties), action_(std::move(action)), timeout_(timeout) {
  if (parties == 0) throw std::invalid_argument("green::Barrier: parties must be > 0");
  if (timeout && !(*timeout >= 0))
    throw std::invalid_argument("green::Barrier: timeout must be >= 0, got " + detail::format_seconds(*timeout));
}

std::size_t Barrier::n_waiting() const noexcept {
  return state_.load(std::memory_order_acquire) == State::filling ? count_.load(std::memory_order_acquire) : 0;
}

std::size_t Barrier::wait(std::optional<double> timeout) {
  if (!timeout) timeout = timeout_;
  if (timeout && !(*timeout >= 0)) detail::throw_bad_timeout("Barrier.wait", *timeout);
  std::unique_lock guard(lock_);
  enter();
  const std::size_t index = count_.load(std::memory_order_relaxed);
  count_.store(index + 1, std::memory_order_release);
  struct Leave {
    Barrier* self;
    ~Leave() { self->leave(); }
  } leave{this};
  if (index + 1 == parties_)
    release_round();
  else
    wait_round(timeout);
  return index;
}

void Barrier::enter() {
  // Wait while the previous round drains or a reset completes.
  while (state_ == State::draining || state_ == State::resetting) cond_.wait();
  if (state_ == State::broken) throw BrokenBarrierError();
}

void Barrier::release_round() {
  try {
    if (action_) action_();
  } catch (...) {
    break_locked();
    throw;
  }
  state_ = State::draining;
  cond_.notify_all();
}

void Barrier::wait_round(std::optional<double> timeout) {
  bool released;
  try {
    released = cond_.wait_for([this] { return state_ != State::filling; }, timeout);
  } catch (...) {
    // A kill or Timeout: this party will not arrive, so nobody else could pass.
    if (state_ == State::filling) break_locked();
    throw;
  }
  if (!released) {
    break_locked();
    throw BrokenBarrierError();
  }
  if (state_ == State::broken || state_ == State::resetting) throw BrokenBarrierError();
}

void Barrier::leave() {
  // Called with the lock held as each greenlet leaves wait(); the last one out of a
  // draining or resetting round opens the barrier for the next.
  const std::size_t left = count_.load(std::memory_order_relaxed) - 1;
  count_.store(left, std::memory_order_release);
  if (left == 0 && (state_ == State::draining || state_ == State::resetting)) {
    state_ = State::filling;
    cond_.notify_all();
  }
}

void Barrier::reset() {
  std::lock_guard guard(lock_);
  if (count_.load(std::memory_order_relaxed) > 0) {
    // Waiters wake with BrokenBarrierError; the last to leave sets filling again.
    if (state_ == State::filling || state_ == State::broken) state_ = State::resetting;
  } else {
    state_ = State::filling;
  }
  cond_.notify_all();
}

void Barrier::abort() {
  std::lock_guard guard(lock_);
  break_locked();
}

void Barrier::break_locked() {
  state_ = State::broken;
  cond_.notify_all();
}

}  // namespace green
