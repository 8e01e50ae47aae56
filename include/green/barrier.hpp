// green/barrier.hpp: threading.Barrier.
//
// A Barrier for `parties` greenlets: each wait() blocks until `parties` greenlets have
// called it, then all of them return together and the barrier is ready for the next round.
// wait() returns the caller's arrival index in its round, 0 for the first to arrive and
// parties - 1 for the last. The optional action runs once per round, in the last greenlet
// to arrive, before the others are released.
//
// The barrier breaks (broken() is true, and every waiter and later wait() throws
// BrokenBarrierError) when abort() is called, when the action throws (the thrower gets
// the action's exception), when a wait times out (the timed-out greenlet also gets
// BrokenBarrierError), or when a waiter leaves by exception (a kill, a green::Timeout; it
// gets its own exception), because the round can then never complete. reset() wakes the
// current waiters with BrokenBarrierError and makes the barrier usable again.
//
// Greenlets of a finished round that have not left wait() yet do not count in the next
// round: newcomers wait until they are out (Python's "draining" state).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>

#include "green/condition.hpp"
#include "green/lock.hpp"

namespace green {

class BrokenBarrierError : public std::runtime_error {
 public:
  BrokenBarrierError() : std::runtime_error("green::BrokenBarrierError: the barrier is broken") {}
};

class Barrier {
 public:
  // std::invalid_argument if parties is 0 or the timeout is negative. `timeout` is the
  // default for wait().
  explicit Barrier(std::size_t parties, std::function<void()> action = {},
                   std::optional<double> timeout = {});
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Blocks until all parties arrived; returns the arrival index. `timeout` nullopt means
  // the barrier's default timeout.
  std::size_t wait(std::optional<double> timeout = {});
  void reset();
  void abort();

  std::size_t parties() const noexcept { return parties_; }
  // Greenlets waiting in the current round.
  std::size_t n_waiting() const noexcept;
  bool broken() const noexcept { return state_.load(std::memory_order_acquire) == State::broken; }

 private:
  enum class State { filling, draining, resetting, broken };
  void enter();
  void release_round();
  void wait_round(std::optional<double> timeout);
  void leave();
  void break_locked();

  const std::size_t parties_;
  const std::function<void()> action_;
  const std::optional<double> timeout_;
  Lock lock_;
  Condition cond_{lock_};
  std::atomic<State> state_{State::filling};
  std::atomic<std::size_t> count_{0};  // written under lock_, read without it by n_waiting
};

}  // namespace green
