#include "green/condition.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

#include "green/errors.hpp"

namespace green {

void Condition::check_owned(const char* what) const {
  if (!is_owned())
    throw std::logic_error(std::string("green::Condition::") + what +
                           (lock_ ? ": the Condition's Lock is not held" :
                                    ": the Condition's RLock is not held by this greenlet"));
}

bool Condition::wait(std::optional<double> timeout) {
  check_owned("wait");
  if (timeout && !(*timeout >= 0)) detail::throw_bad_timeout("Condition.wait", *timeout);
  // Link before releasing: a notify made as soon as the lock is free must find us.
  Waiter waiter("Condition.wait");
  link(waiter);
  std::size_t saved = 0;
  if (lock_)
    lock_->release();
  else
    saved = rlock_->release_all();

  std::exception_ptr error;
  try {
    waiter.wait(timeout);
  } catch (...) {
    error = std::current_exception();
  }
  unlink(waiter);  // after this nobody can notify us: reason() is final
  const bool notified = waiter.reason() == Waiter::kNotified;
  if (error && notified) {
    std::lock_guard guard(Linkable::lock());
    notify_one_locked(Waiter::kNotified);  // pass the notification on
  }

  std::exception_ptr interrupted;
  if (lock_) {
    // Lock has no owner, so this reaches into its permits the way RLock does.
    interrupted = lock_->permits_.take_through("Condition.wait (re-acquiring its Lock)");
  } else {
    try {
      rlock_->acquire_restore(saved);
    } catch (const LoopExit&) {
      throw;
    } catch (...) {
      interrupted = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  if (interrupted) std::rethrow_exception(interrupted);
  return notified;
}

void Condition::notify(std::size_t n) {
  check_owned("notify");
  std::lock_guard guard(Linkable::lock());
  for (std::size_t i = 0; i < n && notify_one_locked(Waiter::kNotified); ++i) {
  }
}

void Condition::notify_all() {
  check_owned("notify_all");
  std::lock_guard guard(Linkable::lock());
  notify_all_locked(Waiter::kNotified);
}

}  // namespace green
