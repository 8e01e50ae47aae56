#include "green/timeout.hpp"

#include <ev.h>

#include <stdexcept>

#include "core/thread_state.hpp"
#include "green/hub.hpp"

namespace green {

static_assert(sizeof(ev_timer) <= 64, "Timeout reserves 64 bytes for its ev_timer");

Timeout::Timeout(std::optional<double> seconds) : seconds_(seconds) {
  if (!seconds) return;
  if (!(*seconds >= 0))
    throw std::invalid_argument("green::Timeout: seconds must be >= 0, got " + detail::format_seconds(*seconds));
  target_ = detail::ThreadState::get().current->greenlet_base();
  if (target_ == nullptr) throw std::logic_error("green::Timeout: only a greenlet (or the main greenlet) can time out");
  hub_ = &Hub::current();
  auto* timer = reinterpret_cast<ev_timer*>(timer_);
  ev_timer_init(timer, reinterpret_cast<void (*)(struct ev_loop*, ev_timer*, int)>(&Timeout::expired), *seconds, 0.0);
  timer->data = this;
  ev_now_update(hub_->loop());
  ev_timer_start(hub_->loop(), timer);
  armed_ = true;
}

Timeout::~Timeout() { cancel(); }

void Timeout::cancel() noexcept {
  if (armed_) {
    ev_timer_stop(hub_->loop(), reinterpret_cast<ev_timer*>(timer_));
    armed_ = false;
  }
  if (fired_) drop_undelivered_error();
}

void Timeout::drop_undelivered_error() noexcept {
  fired_ = false;
  detail::ThreadState* ts = detail::ThreadState::get_if_exists();
  if (ts == nullptr || ts->current->greenlet_base() != target_) return;
  bool is_kill = false;
  std::exception_ptr error = detail::take_deferred_exception(*target_, is_kill);
  if (!error) return;
  bool ours = false;
  if (!is_kill) {
    try {
      std::rethrow_exception(error);
    } catch (const TimeoutError& e) {
      ours = e.from(*this);
    } catch (...) {
    }
  }
  if (!ours) detail::defer_exception(*target_, std::move(error), is_kill);
}

bool Timeout::pending() const noexcept { return armed_; }

void Timeout::expired(struct ev_loop*, void* watcher, int) noexcept {
  auto* self = static_cast<Timeout*>(static_cast<ev_timer*>(watcher)->data);
  self->armed_ = false;
  self->fired_ = true;
  try {
    auto error = std::make_exception_ptr(
        TimeoutError("green: timed out after " + detail::format_seconds(*self->seconds_) + " s", self));
    self->hub_->throw_into(*self->target_, std::move(error));
  } catch (...) {
    // Out of memory building the error: nothing sensible to deliver.
  }
}

}  // namespace green
