// The real libc functions behind the hooks, found with dlsym(RTLD_NEXT) on first use.
//
//   GREEN_REAL(read)(fd, buf, n)
//
// Each call site caches its pointer in an atomic, so a hook called before the library's
// constructor ran (another library's start-up code) still reaches libc.
#pragma once

#include <atomic>

namespace green::patch {
// dlsym(RTLD_NEXT, name); prints a message naming the symbol and aborts if libc lacks it.
void* next_symbol(const char* name) noexcept;
}  // namespace green::patch

// (The pointer is kept as void*: a function type with attributes such as
// warn_unused_result would be ignored as a template argument, with a warning.)
#define GREEN_REAL(name)                                                                   \
  ([]() noexcept {                                                                         \
    static std::atomic<void*> cached{nullptr};                                             \
    void* fn = cached.load(std::memory_order_acquire);                                     \
    if (fn == nullptr) {                                                                   \
      fn = ::green::patch::next_symbol(#name);                                             \
      cached.store(fn, std::memory_order_release);                                         \
    }                                                                                      \
    return reinterpret_cast<decltype(&::name)>(fn);                                        \
  }())
