// Context switching: the only place that touches Boost.Context, the C++ runtime's exception
// globals and AddressSanitizer's fiber annotations.
#include "green/raw_greenlet.hpp"


#include <boost/context/detail/fcontext.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "core/stack_census.hpp"
#include "core/thread_state.hpp"
#include "green/greenlet.hpp"
#include "green/stack_census.hpp"
#include "green/errors.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define GREEN_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define GREEN_TSAN 1
#endif

namespace ctx = boost::context::detail;

namespace green {
namespace detail {
#if defined(GREEN_ASAN) || defined(GREEN_TSAN)
const bool switch_is_annotated = true;
#else
const bool switch_is_annotated = false;
#endif
struct Switch {
  static void trampoline(ctx::transfer_t from) noexcept { RawGreenlet::entry(from.fctx, from.data); }
};
}  // namespace detail

RawGreenlet::RawGreenlet(Function run, RawGreenlet* parent, std::size_t stack_size)
    : thread_(&detail::ThreadState::get()), requested_stack_size_(stack_size), run_(std::move(run)) {
  parent_ = parent != nullptr ? parent : thread_->current;
  if (parent_->thread_ != thread_)
    throw std::invalid_argument("green::RawGreenlet: parent belongs to another OS thread");
}

RawGreenlet::RawGreenlet(MainTag) : thread_(nullptr), state_(State::started), is_main_(true) {
#ifdef GREEN_TSAN
  tsan_fiber_ = __tsan_get_current_fiber();  // the thread's own
#endif
}

RawGreenlet::~RawGreenlet() {
  unwind();
  release_stack();
}

void RawGreenlet::run() {
  if (run_) run_();
}

RawGreenlet& RawGreenlet::current() { return *detail::ThreadState::get().current; }

std::size_t RawGreenlet::stack_size() const noexcept {
  if (stack_) return stack_.size;
  return requested_stack_size_ != 0 ? requested_stack_size_ : detail::StackConfig::get().default_size;
}

void RawGreenlet::set_parent(RawGreenlet& parent) {
  if (parent.thread_ != thread_)
    throw std::invalid_argument("green::RawGreenlet::set_parent: parent belongs to another OS thread");
  for (RawGreenlet* p = &parent; p != nullptr; p = p->parent_)
    if (p == this) throw std::invalid_argument("green::RawGreenlet::set_parent: would create a cycle");
  parent_ = &parent;
}

void RawGreenlet::jump_to(RawGreenlet& target, bool dying) {
  detail::ExceptionState* globals = thread_->exception_globals;
  exceptions_ = *globals;
  *globals = target.exceptions_;
  thread_->current = &target;
#ifdef GREEN_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &asan_fake_stack_, target.asan_bottom_, target.asan_size_);
#else
  (void)dying;
#endif
#ifdef GREEN_TSAN
  __tsan_switch_to_fiber(target.tsan_fiber_, 0);  // flags 0: the switch orders memory
#endif
  ctx::transfer_t from = ctx::jump_fcontext(target.context_, this);
  after_resume(from.fctx, from.data);
}

void RawGreenlet::after_resume(void* from_context, void* from_greenlet) noexcept {
  auto* from = static_cast<RawGreenlet*>(from_greenlet);
#ifdef GREEN_ASAN
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_finish_switch_fiber(asan_fake_stack_, &bottom, &size);
  if (from->is_main_) {
    from->asan_bottom_ = bottom;
    from->asan_size_ = size;
  }
#endif
  // A finished greenlet cannot free the stack it is running on: whoever it jumped to does.
  if (from->state_ == State::dead)
    release_stack_of_dead(*from);
  else
    from->context_ = from_context;
}

void RawGreenlet::check_thread(const char* operation) const {
  if (detail::ThreadState::get_if_exists() != thread_)
    throw std::logic_error(std::string("green::RawGreenlet::") + operation +
                           ": the greenlet belongs to another OS thread");
}

void RawGreenlet::switch_to_slow() {
  if (detail::ThreadState::get_if_exists() == thread_ && state_ == State::started) {
    RawGreenlet& from = *thread_->current;
    if (&from == this) return;
    from.jump_to(*this, false);
    from.raise_pending();
    return;
  }
  check_thread("switch_to");
  if (dead()) throw std::logic_error("green::RawGreenlet::switch_to: cannot switch to a dead greenlet");
  RawGreenlet& from = *thread_->current;
  start_or_jump();
  from.raise_pending();
}

void RawGreenlet::throw_to(std::exception_ptr error) {
  check_thread("throw_to");
  if (!error) throw std::invalid_argument("green::RawGreenlet::throw_to: error is empty");
  if (dead()) throw std::logic_error("green::RawGreenlet::throw_to: cannot throw into a dead greenlet");
  RawGreenlet& from = *thread_->current;
  if (state_ == State::not_started) {
    state_ = State::dead;
    run_ = nullptr;
    try {
      std::rethrow_exception(error);
    } catch (const GreenletExit&) {
      return;
    }
  }
  if (&from == this) std::rethrow_exception(error);
  pending_ = std::move(error);
  start_or_jump();
  from.raise_pending();
}

void RawGreenlet::raise_pending() {
  if (!pending_) return;
  std::exception_ptr error = std::move(pending_);
  pending_ = nullptr;
  std::rethrow_exception(error);
}

void RawGreenlet::ensure_stack_available() {
  if (state_ == State::not_started && !stack_) thread().stacks.ensure_available(requested_stack_size_);
}

void RawGreenlet::prepare_start() {
  if (state_ != State::not_started) return;
  stack_ = thread().stacks.acquire(requested_stack_size_);
  context_ = ctx::make_fcontext(stack_.top(), stack_.size, &detail::Switch::trampoline);
  asan_bottom_ = stack_.low + stack_.guard;
  asan_size_ = stack_.size;
#ifdef GREEN_TSAN
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
  state_ = State::started;
}

void RawGreenlet::start_or_jump() {
  prepare_start();
  thread_->current->jump_to(*this, false);
}

void RawGreenlet::entry(void* from_context, void* from_greenlet) noexcept {
  RawGreenlet* self = detail::ThreadState::get_if_exists()->current;
  self->after_resume(from_context, from_greenlet);
  std::exception_ptr escaped;
  try {
    self->run();
  } catch (const GreenletExit&) {
  } catch (...) {
    escaped = std::current_exception();
  }
  self->run_ = nullptr;
  self->state_ = State::dead;
  RawGreenlet* target = self->parent_;
  while (target->dead()) target = target->parent_;
  // Moved, not copied: this frame is never unwound, so nothing here may own anything.
  if (escaped) target->pending_ = std::move(escaped);
  try {
    target->prepare_start();
  } catch (...) {
    std::fputs("green: no stack for the parent of a finished greenlet\n", stderr);
    std::abort();
  }
  self->jump_to(*target, true);
  std::fputs("green: a dead greenlet was resumed\n", stderr);
  std::abort();
}

void RawGreenlet::unwind() noexcept {
  if (state_ != State::started || is_main_) return;
  detail::ThreadState* ts = detail::ThreadState::get_if_exists();
  if (ts != thread_) {
    std::fprintf(stderr, "green: %s destroyed on another OS thread while unfinished; its stack is leaked\n",
                 diagnostic_name());
    state_ = State::dead;
    stack_ = {};
    return;
  }
  if (ts->shutting_down || ts->current == this) {
    state_ = State::dead;
    return;
  }
  parent_ = ts->current;
  try {
    throw_to(std::make_exception_ptr(GreenletExit()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green: %s raised while being unwound: %s\n", diagnostic_name(), e.what());
  } catch (...) {
    std::fprintf(stderr, "green: %s raised while being unwound\n", diagnostic_name());
  }
  if (state_ != State::dead) {
    std::fprintf(stderr, "green: %s did not finish when GreenletExit was thrown into it; its stack is abandoned\n",
                 diagnostic_name());
    state_ = State::dead;
  }
}

void RawGreenlet::release_stack_of_dead(RawGreenlet& from) noexcept { from.release_stack(); }

detail::ThreadState& RawGreenlet::thread() const noexcept { return *static_cast<detail::ThreadState*>(thread_); }

void RawGreenlet::release_stack() noexcept {
#ifdef GREEN_TSAN
  // Never the running fiber: a dead greenlet's stack is released by whoever it jumped to.
  if (tsan_fiber_ != nullptr && !is_main_) {
    __tsan_destroy_fiber(tsan_fiber_);
    tsan_fiber_ = nullptr;
  }
#endif
  if (!stack_) return;
  if (stack_census_enabled()) {
    GreenletBase* g = greenlet_base();
    detail::census_record(stack_, g != nullptr ? g->spawn_site() : nullptr);
  }
  thread().stacks.release(stack_);
  stack_ = {};
}

}  // namespace green
