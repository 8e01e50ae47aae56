#include "core/thread_state.hpp"

#include <cxxabi.h>

#include "core/stack_overflow.hpp"
#include "green/hub.hpp"

namespace green {
namespace detail {
namespace {
// The thread's own stack, as a greenlet: never started by us, never finishes.
class MainGreenlet final : public GreenletBase {
 public:
  MainGreenlet() : GreenletBase(MainTag{}) {}

 private:
  void run_body() override {}
};

thread_local std::unique_ptr<ThreadState> owner;
}  // namespace

thread_local SwitchState* tls_switch_state __attribute__((tls_model("initial-exec"))) = nullptr;

void ThreadState::create() {
  owner = std::make_unique<ThreadState>();
  tls_switch_state = owner.get();
  install_overflow_handler();
}

static_assert(sizeof(ExceptionState) == 16, "mirrors libstdc++'s __cxa_eh_globals on x86_64");

// libstdc++'s per-thread exception globals, swapped on every switch: found once per
// thread because __cxa_get_globals costs a call and a TLS lookup each time.
ThreadState::ThreadState() {
  exception_globals = reinterpret_cast<ExceptionState*>(abi::__cxa_get_globals());
  auto* m = new MainGreenlet();
  static_cast<RawGreenlet*>(m)->thread_ = this;
  m->add_ref();
  main = m;
  current = m;
}

ThreadState::~ThreadState() {
  shutting_down = true;
  current = main_raw();
  hub.reset();
  main->release();
  main = nullptr;
  remove_overflow_handler();
  tls_switch_state = nullptr;
}

RawGreenlet* ThreadState::main_raw() const noexcept { return main; }

}  // namespace detail
}  // namespace green
