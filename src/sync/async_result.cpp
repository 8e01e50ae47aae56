#include "green/async_result.hpp"

#include "green/greenlet.hpp"

namespace green::detail {

bool ResultState::wait(std::optional<double> timeout) {
  if (ready()) return true;
  Waiter waiter("AsyncResult.wait");
  if (!link_unless_ready(waiter)) return true;
  waiter.wait(timeout);
  return ready();
}

void ResultState::wait_and_check(std::optional<double> timeout, const char* what) {
  if (!wait(timeout))
    throw TimeoutError(std::string("green: ") + what + " timed out after " + format_seconds(*timeout) + " s",
                       nullptr);
  if (error_) std::rethrow_exception(error_);
}

void ResultState::set_exception(std::exception_ptr error) {
  if (!error) throw std::invalid_argument("green::AsyncResult::set_exception: error is empty");
  complete([&] { error_ = std::move(error); });
}

}  // namespace green::detail
