// green/timer.hpp: threading.Timer.
//
// Timer(interval, fn, args...) calls fn(args...) once, `interval` seconds after start(),
// in a greenlet of its own spawned on the hub of the thread that called start(), unless
// cancel() came first. cancel() is safe from any OS thread and at any time (before
// start(), while waiting, after the call: then it does nothing). join() waits for the
// timer's greenlet to end (fired or cancelled).
//
// Like Python's Timer (a thread) and like green::Greenlet handles, destroying the Timer
// object does not cancel it: a started timer fires whether or not anybody keeps the
// object. An exception thrown by the function is printed on stderr (threading.excepthook's
// default), whether or not anybody joins the timer.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "green/event.hpp"
#include "green/greenlet.hpp"

namespace green {

class Timer {
 public:
  // std::invalid_argument for a negative or NaN interval.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  Timer(double interval, F&& fn, Args&&... args)
      : Timer(interval, std::function<void()>([f = std::forward<F>(fn), ... a = std::forward<Args>(args)]() mutable {
                std::invoke(f, a...);
              })) {}
  Timer(double interval, std::function<void()> fn);
  Timer(Timer&&) noexcept = default;
  Timer& operator=(Timer&&) noexcept = default;

  // Spawns the timer's greenlet. std::logic_error if it was started before.
  void start();
  // Stops a timer that has not fired yet.
  void cancel() noexcept;
  // Waits until the timer's greenlet ended; false if `timeout` passed first. Returns
  // true at once if it was never started.
  bool join(std::optional<double> timeout = {}) const;
  // Started and its greenlet has not ended.
  bool is_alive() const noexcept;
  double interval() const noexcept { return state_->interval; }

 private:
  struct State {
    State(double i, std::function<void()> f) : interval(i), fn(std::move(f)) {}
    double interval;
    std::function<void()> fn;
    Event finished;  // set by cancel() and after the call, as in CPython
  };
  std::shared_ptr<State> state_;
  Greenlet<void> greenlet_;
};

}  // namespace green
