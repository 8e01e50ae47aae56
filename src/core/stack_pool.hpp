// Stack allocation for greenlets: pooled, lazily committed, guarded.
//
// Stacks are carved from slabs (one mmap per many stacks, MAP_NORESERVE so a page costs
// memory only once touched) and recycled through a per-thread free list, so a spawn never
// maps memory once the pool is warm. Each stack has a guard below it: MADV_GUARD_INSTALL
// where the kernel has it (no extra kernel mapping), else mprotect (one mapping each, which
// vm.max_map_count caps near 32k stacks: the pool stops at three quarters of the limit
// with an error that says what to do, before the kernel refuses the whole process). A stack returned while many are already free has
// its pages given back (MADV_DONTNEED) so a burst does not pin its memory forever.
#pragma once

#include <cstddef>
#include <vector>

#include "green/raw_greenlet.hpp"

namespace green::detail {

struct StackConfig {
  std::size_t default_size;  // usable bytes
  std::size_t guard_pages;
  bool force_mprotect;  // GREEN_GUARD_MODE=mprotect: the fallback, to test it anywhere
  static StackConfig& get();  // read once from GREEN_STACK_SIZE / GREEN_GUARD_PAGES
};

class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();

  // `size` 0 means the default; sizes are rounded up to whole pages. Throws
  // std::system_error (naming the limit to raise) when the kernel refuses memory.
  Stack acquire(std::size_t size);
  // Makes sure acquire(size) would not need to map memory (maps a slab now if it would);
  // throws as acquire does.
  void ensure_available(std::size_t size);
  void release(const Stack& stack) noexcept;

  static constexpr std::size_t kWarmStacks = 1024;  // kept committed per size

 private:
  struct Slab {
    char* base;
    std::size_t bytes;
    std::size_t mprotect_guards;  // counted against vm.max_map_count
  };
  struct SizeClass {
    std::size_t size;
    std::size_t guard;
    std::vector<Stack> free;
  };
  SizeClass& size_class(std::size_t size, std::size_t guard);
  SizeClass& size_class_for(std::size_t requested);
  void grow(SizeClass& cls);

  std::vector<SizeClass> classes_;
  std::vector<Slab> slabs_;
  // The class the last request mapped to: spawn asks twice per greenlet (the check, then
  // the stack), nearly always for the same size, and rounding to pages costs a division.
  std::size_t last_requested_ = 0;
  std::size_t last_class_ = static_cast<std::size_t>(-1);
};

std::size_t page_size() noexcept;

}  // namespace green::detail
