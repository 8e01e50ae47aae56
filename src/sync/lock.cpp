#include "green/lock.hpp"

#include <stdexcept>

namespace green {

namespace detail {
void throw_rlock_not_owned(bool held_by_another) {
  throw std::logic_error(held_by_another ? "green::RLock::release: the lock is held by another greenlet"
                                         : "green::RLock::release: the lock is not held");
}
}  // namespace detail

std::size_t RLock::release_all() {
  const std::size_t saved = count_;
  count_ = 1;
  release();
  return saved;
}

void RLock::acquire_restore(std::size_t count) {
  std::exception_ptr interrupted = permits_.take_through("Condition.wait (re-acquiring its RLock)");
  owner_.store(detail::running_greenlet(), std::memory_order_relaxed);
  count_ = count;
  if (interrupted) std::rethrow_exception(interrupted);
}

}  // namespace green
