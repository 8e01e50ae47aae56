// green/async_result.hpp: a value that arrives later (gevent.event.AsyncResult,
// concurrent.futures.Future).
//
// AsyncResult<T> is a shared handle: copies refer to the same result. set() or
// set_exception() happens once (a second call throws std::logic_error) and may be called
// from any OS thread; every greenlet waiting in get()/wait(), on any hub, wakes up.
// get() returns the value or rethrows the exception; with a timeout it throws
// TimeoutError when the result is not there in time.
#pragma once

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "green/errors.hpp"
#include "green/linkable.hpp"

namespace green {

namespace detail {
// The part of a result that does not depend on T.
class ResultState : public Linkable {
 public:
  bool ready() const noexcept override { return ready_.load(std::memory_order_acquire); }
  bool successful() const noexcept { return ready() && !error_; }
  std::exception_ptr exception() const noexcept { return ready() ? error_ : nullptr; }
  // Blocks until ready or `timeout` passes; returns ready().
  bool wait(std::optional<double> timeout);
  // Waits, then throws TimeoutError (not ready) or the stored exception.
  void wait_and_check(std::optional<double> timeout, const char* what);
  void set_exception(std::exception_ptr error);

 protected:
  // Runs `store` and marks the result ready, atomically for waiters; std::logic_error if
  // it was set before.
  template <class Store>
  void complete(Store&& store) {
    {
      std::lock_guard guard(lock());
      if (ready()) throw std::logic_error("green::AsyncResult: the result is already set");
      store();
      ready_.store(true, std::memory_order_release);
      notify_all_locked(Waiter::kNotified);
    }
  }
  std::exception_ptr error_;

 private:
  std::atomic<bool> ready_{false};
};

template <class T>
class ValueState final : public ResultState {
 public:
  void set(T value) {
    complete([&] { value_.emplace(std::move(value)); });
  }
  const T& value() const { return *value_; }

 private:
  std::optional<T> value_;
};

template <>
class ValueState<void> final : public ResultState {
 public:
  void set() {
    complete([] {});
  }
  void value() const {}
};
}  // namespace detail

template <class T = void>
class AsyncResult {
 public:
  using value_type = T;
  AsyncResult() : state_(std::make_shared<detail::ValueState<T>>()) {}

  template <class U = T>
    requires(!std::is_void_v<U>)
  void set(U value) const {
    state_->set(std::move(value));
  }
  template <class U = T>
    requires std::is_void_v<U>
  void set() const {
    state_->set();
  }
  void set_exception(std::exception_ptr error) const { state_->set_exception(std::move(error)); }

  bool ready() const noexcept { return state_->ready(); }
  bool successful() const noexcept { return state_->successful(); }
  std::exception_ptr exception() const noexcept { return state_->exception(); }
  bool wait(std::optional<double> timeout = {}) const { return state_->wait(timeout); }
  decltype(auto) get(std::optional<double> timeout = {}) const {
    state_->wait_and_check(timeout, "AsyncResult.get");
    return state_->value();
  }

  Linkable& linkable() const noexcept { return *state_; }
  friend bool operator==(const AsyncResult& a, const AsyncResult& b) noexcept { return a.state_ == b.state_; }

 private:
  std::shared_ptr<detail::ValueState<T>> state_;
};

}  // namespace green
