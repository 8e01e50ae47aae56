// green/timeout.hpp: bound how long a greenlet may block.
//
// Timeout is an RAII scope: from construction until destruction or cancel(), if the
// seconds pass, TimeoutError is thrown in the greenlet that made it, at its current or
// next switch point (any blocking call). Timeouts nest: TimeoutError::from(t) tells which
// one fired, so an inner scope can rethrow an outer scope's timeout:
//
//   green::Timeout outer(1.0);
//   try { green::Timeout inner(0.1); work(); }
//   catch (const green::TimeoutError& e) { if (!e.from(inner)) throw; ... }
//
// (Declare the Timeout outside the try when you catch its own error, as above for outer.)
#pragma once

#include <functional>
#include <optional>
#include <utility>

#include "green/errors.hpp"

struct ev_loop;

namespace green {

class GreenletBase;
class Hub;

class Timeout {
 public:
  // nullopt never fires. std::invalid_argument for negative or NaN seconds; 0 fires at the
  // next switch point.
  explicit Timeout(std::optional<double> seconds);
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout();

  // Stops the timer; if it fired but its TimeoutError has not reached the greenlet yet (the
  // wait it interrupted had just been satisfied), the error is dropped with the scope.
  void cancel() noexcept;
  // Armed and not yet fired.
  bool pending() const noexcept;
  std::optional<double> seconds() const noexcept { return seconds_; }

 private:
  static void expired(struct ev_loop*, void* watcher, int) noexcept;
  void drop_undelivered_error() noexcept;
  alignas(8) unsigned char timer_[64];  // an ev_timer, kept out of the public headers
  GreenletBase* target_ = nullptr;
  Hub* hub_ = nullptr;
  std::optional<double> seconds_;
  bool armed_ = false;
  bool fired_ = false;
};

// Runs fn(args...) under a Timeout of `seconds`; TimeoutError propagates to the caller.
template <class F, class... Args>
decltype(auto) with_timeout(double seconds, F&& fn, Args&&... args) {
  Timeout timeout(seconds);
  return std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
}

}  // namespace green
