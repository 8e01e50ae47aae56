// Turns a greenlet's stack overflow (a fault in its guard page) into a clear message:
//   green: stack overflow in greenlet '<name>' (stack <N> KiB)
// and an abort, instead of silent memory corruption. The SIGSEGV handler runs on a
// per-thread alternate stack; faults it does not recognise go to the previous handler.
#pragma once

namespace green::detail {
void install_overflow_handler();  // per thread; idempotent
void remove_overflow_handler() noexcept;
}  // namespace green::detail
