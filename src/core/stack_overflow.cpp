#include "core/stack_overflow.hpp"

#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/thread_state.hpp"

namespace green::detail {
namespace {

constexpr std::size_t kAltStackSize = 64 * 1024;
// How far below the guard a fault still counts as an overflow: a frame larger than the
// guard can jump over it.
constexpr std::size_t kBelowGuardSlack = 64 * 1024;

struct sigaction previous_action;
std::once_flag handler_once;
thread_local void* alt_stack = nullptr;

void write_all(const char* text) noexcept {
  std::size_t left = std::strlen(text);
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

void write_number(std::size_t value) noexcept {
  char digits[24];
  char* p = digits + sizeof(digits) - 1;
  *p = '\0';
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  write_all(p);
}

bool in_overflow_zone(const Stack& stack, std::uintptr_t address) noexcept {
  auto low = reinterpret_cast<std::uintptr_t>(stack.low);
  auto usable = low + stack.guard;
  return address < usable && address + kBelowGuardSlack >= low;
}

void on_segv(int signo, siginfo_t* info, void* context) {
  ThreadState* ts = ThreadState::get_if_exists();
  RawGreenlet* current = ts != nullptr ? ts->current : nullptr;
  if (current != nullptr && ThreadState::stack_of(*current)) {
    const Stack& stack = ThreadState::stack_of(*current);
    auto fault = reinterpret_cast<std::uintptr_t>(info->si_addr);
    auto sp = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RSP]);
    if (in_overflow_zone(stack, fault) || in_overflow_zone(stack, sp)) {
      write_all("green: stack overflow in greenlet '");
      write_all(current->diagnostic_name());
      write_all("' (stack ");
      write_number(stack.size / 1024);
      write_all(" KiB)\n");
      ::signal(SIGABRT, SIG_DFL);
      std::abort();
    }
  }
  // Not ours: hand it on as if we were never installed.
  if (previous_action.sa_flags & SA_SIGINFO) {
    if (previous_action.sa_sigaction != nullptr) return previous_action.sa_sigaction(signo, info, context);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    return previous_action.sa_handler(signo);
  }
  ::signal(SIGSEGV, SIG_DFL);  // the faulting instruction runs again and kills us properly
}

}  // namespace

void install_overflow_handler() {
  if (alt_stack == nullptr) {
    stack_t current{};
    if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) != 0) {
      alt_stack = std::malloc(kAltStackSize);
      stack_t st{};
      st.ss_sp = alt_stack;
      st.ss_size = kAltStackSize;
      if (alt_stack == nullptr || ::sigaltstack(&st, nullptr) != 0) {
        std::free(alt_stack);
        alt_stack = nullptr;
      }
    }
  }
  std::call_once(handler_once, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, &previous_action);
  });
}

void remove_overflow_handler() noexcept {
  if (alt_stack == nullptr) return;
  stack_t st{};
  st.ss_flags = SS_DISABLE;
  ::sigaltstack(&st, nullptr);
  std::free(alt_stack);
  alt_stack = nullptr;
}

}  // namespace green::detail
