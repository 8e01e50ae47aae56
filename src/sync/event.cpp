#include "green/event.hpp"

#include <mutex>

namespace green {

void Event::set() noexcept {
  std::lock_guard guard(lock());
  flag_.store(true, std::memory_order_release);
  notify_all_locked(Waiter::kNotified);
}

void Event::clear() noexcept {
  std::lock_guard guard(lock());
  flag_.store(false, std::memory_order_release);
}

bool Event::wait(std::optional<double> timeout) {
  if (is_set()) return true;
  Waiter waiter("Event.wait");
  if (!link_unless_ready(waiter)) return true;
  return waiter.wait(timeout) != Waiter::kTimedOut || is_set();
}

}  // namespace green
