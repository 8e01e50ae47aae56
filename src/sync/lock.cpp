#include "green/lock.hpp"

#include <stdexcept>

namespace green {

bool RLock::acquire(bool blocking, std::optional<double> timeout) {
  detail::check_acquire_args(blocking, timeout, "RLock.acquire");
  const RawGreenlet* me = &RawGreenlet::current();
  if (owner_.load(std::memory_order_relaxed) == me) {
    ++count_;
    return true;
  }
  if (!permits_.try_take() && !permits_.take(blocking, timeout, "RLock.acquire")) return false;
  owner_.store(me, std::memory_order_relaxed);
  count_ = 1;
  return true;
}

void RLock::release() {
  const RawGreenlet* owner = owner_.load(std::memory_order_relaxed);
  if (owner != &RawGreenlet::current())
    throw std::logic_error(owner == nullptr ? "green::RLock::release: the lock is not held"
                                            : "green::RLock::release: the lock is held by another greenlet");
  if (--count_ > 0) return;
  owner_.store(nullptr, std::memory_order_relaxed);
  permits_.give();
}

std::size_t RLock::release_all() {
  const std::size_t saved = count_;
  count_ = 1;
  release();
  return saved;
}

void RLock::acquire_restore(std::size_t count) {
  std::exception_ptr interrupted = permits_.take_through("Condition.wait (re-acquiring its RLock)");
  owner_.store(&RawGreenlet::current(), std::memory_order_relaxed);
  count_ = count;
  if (interrupted) std::rethrow_exception(interrupted);
}

}  // namespace green
