#include "green/semaphore.hpp"

#include <stdexcept>
#include <string>

#include "green/errors.hpp"
#include "green/greenlet.hpp"

namespace green {
namespace detail {

void throw_bad_timeout(const char* what, double timeout) {
  throw std::invalid_argument(std::string("green: ") + what + ": timeout must be >= 0, got " +
                              format_seconds(timeout));
}

void throw_timeout_without_blocking(const char* what) {
  throw std::invalid_argument(std::string("green: ") + what + ": a timeout needs blocking=true");
}

bool Permits::take(bool blocking, std::optional<double> timeout, const char* what) {
  if (!blocking) return try_take();
  Waiter waiter(what);
  {
    std::lock_guard guard(lock());
    if (count_ > 0) {
      --count_;
      return true;
    }
    link_locked(waiter);
  }
  try {
    return waiter.wait(timeout) == Waiter::kNotified;
  } catch (...) {
    // Unlink first: after that no releaser can hand this waiter a permit, so reason() is
    // final. A permit handed over before the exception arrived goes to the next waiter.
    unlink(waiter);
    if (waiter.reason() == Waiter::kNotified) give();
    throw;
  }
}

std::exception_ptr Permits::take_through(const char* what) {
  std::exception_ptr first;
  for (;;) {
    try {
      if (try_take() || take(true, std::nullopt, what)) return first;
    } catch (const LoopExit&) {
      throw;
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
}

void Permits::give() noexcept {
  std::lock_guard guard(lock());
  if (!notify_one_locked(Waiter::kNotified)) ++count_;
}

void Permits::give_bounded(std::size_t n, std::size_t limit, const char* error) {
  std::lock_guard guard(lock());
  // count_ is what is free; every permit out (held, or handed to a waiter) is limit - count_.
  if (n > limit - count_) throw std::logic_error(error);
  for (std::size_t i = 0; i < n; ++i)
    if (!notify_one_locked(Waiter::kNotified)) ++count_;
}

}  // namespace detail

namespace {
std::size_t checked_value(long value) {
  if (value < 0)
    throw std::invalid_argument("green::Semaphore: value must be >= 0, got " + std::to_string(value));
  return static_cast<std::size_t>(value);
}
}  // namespace

Semaphore::Semaphore(long value) : permits_(checked_value(value)), limit_(kUnbounded) {}

Semaphore::Semaphore(long value, bool bounded)
    : permits_(checked_value(value)), limit_(bounded ? checked_value(value) : kUnbounded) {}

}  // namespace green
