#include "core/thread_state.hpp"

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

thread_local ThreadState* ThreadState::instance = nullptr;

void ThreadState::create() {
  owner = std::make_unique<ThreadState>();
  instance = owner.get();
  install_overflow_handler();
}

ThreadState::ThreadState() {
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
  instance = nullptr;
}

RawGreenlet* ThreadState::main_raw() const noexcept { return main; }

}  // namespace detail
}  // namespace green
