// Per-OS-thread state of green: the running greenlet, the main greenlet (the thread's own
// stack), the hub and the stack pool. Created on first use; torn down at thread exit.
#pragma once

#include <memory>

#include "core/stack_pool.hpp"
#include "green/raw_greenlet.hpp"

namespace green {
class GreenletBase;
class Hub;
}  // namespace green

namespace green::detail {

struct ThreadState : SwitchState {
  ThreadState();
  ~ThreadState();

  GreenletBase* main = nullptr;  // holds one reference
  RawGreenlet* main_raw() const noexcept;
  std::unique_ptr<Hub> hub;
  StackPool stacks;
  bool shutting_down = false;  // greenlets left at thread exit are abandoned, not unwound

  // Fast path: tls_switch_state is a plain pointer (no TLS init guard on every switch),
  // initial-exec so a switch reads it with one %fs-relative load.
  static ThreadState& get() {
    if (tls_switch_state == nullptr) create();
    return *static_cast<ThreadState*>(tls_switch_state);
  }
  static ThreadState* get_if_exists() noexcept { return static_cast<ThreadState*>(tls_switch_state); }
  static const Stack& stack_of(const RawGreenlet& g) noexcept { return g.stack_; }

 private:
  static void create();
};

}  // namespace green::detail
