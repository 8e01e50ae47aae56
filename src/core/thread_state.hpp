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

struct ThreadState {
  ThreadState();
  ~ThreadState();

  RawGreenlet* current = nullptr;
  GreenletBase* main = nullptr;  // holds one reference
  RawGreenlet* main_raw() const noexcept;
  std::unique_ptr<Hub> hub;
  StackPool stacks;
  bool shutting_down = false;  // greenlets left at thread exit are abandoned, not unwound

  // Fast path: tl_current is a plain pointer (no TLS init guard on every switch).
  static ThreadState& get() {
    if (instance == nullptr) create();
    return *instance;
  }
  static ThreadState* get_if_exists() noexcept { return instance; }
  static const Stack& stack_of(const RawGreenlet& g) noexcept { return g.stack_; }

 private:
  static void create();
  static thread_local ThreadState* instance;
};

}  // namespace green::detail
