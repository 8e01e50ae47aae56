#include "core/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13
#endif

namespace green::detail {
namespace {

constexpr std::size_t kDefaultStackSize = 256 * 1024;
constexpr std::size_t kMinStackSize = 16 * 1024;
constexpr std::size_t kSlabBytes = 64 * 1024 * 1024;  // virtual, reserved lazily
constexpr std::size_t kMaxStacksPerSlab = 256;

// Parses "262144", "256K", "1M"; returns 0 for anything else.
std::size_t parse_size(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text) return 0;
  switch (*end) {
    case 'k': case 'K': value <<= 10; ++end; break;
    case 'm': case 'M': value <<= 20; ++end; break;
    default: break;
  }
  if (*end == 'i' || *end == 'B') ++end;
  if (*end == 'B') ++end;
  return *end == '\0' ? static_cast<std::size_t>(value) : 0;
}

std::size_t round_to_pages(std::size_t bytes) {
  std::size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

enum class GuardKind { unknown, madvise, mprotect };
// Learnt from the first guard any thread installs; read by every thread's pool.
std::atomic<GuardKind> guard_kind{GuardKind::unknown};

// An mprotect guard splits its slab's mapping: each guarded stack costs up to two kernel
// mappings, and vm.max_map_count counts every mapping of the process (malloc arenas,
// thread stacks, libraries). Stacks may use three quarters of the limit; past that a spawn
// fails with an error that says what to do, before the kernel starts refusing everyone.
std::atomic<std::size_t> mprotect_guarded_stacks{0};

std::size_t mprotect_stack_budget() {
  static const std::size_t budget = [] {
    std::size_t limit = 65530;
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
      unsigned long value = 0;
      if (std::fscanf(f, "%lu", &value) == 1 && value > 0) limit = value;
      std::fclose(f);
    }
    return limit * 3 / 4 / 2;
  }();
  return budget;
}

void check_mprotect_budget(std::size_t more, std::size_t stack_size) {
  const std::size_t used = mprotect_guarded_stacks.load(std::memory_order_relaxed);
  if (used + more <= mprotect_stack_budget()) return;
  throw std::system_error(
      ENOMEM, std::generic_category(),
      "green: cannot map a greenlet stack of " + std::to_string(stack_size >> 10) + " KiB: " +
          std::to_string(used + more) +
          " guarded greenlet stacks would use up vm.max_map_count, because their guard pages are made "
          "with mprotect (no MADV_GUARD_INSTALL in this kernel, or GREEN_GUARD_MODE=mprotect) and each "
          "costs kernel mappings. Set GREEN_GUARD_PAGES=0 (no guard pages), run fewer greenlets at once, "
          "or raise vm.max_map_count");
}

void install_guard(char* low, std::size_t bytes) {
  if (bytes == 0) return;
  if (StackConfig::get().force_mprotect) guard_kind.store(GuardKind::mprotect, std::memory_order_relaxed);
  if (guard_kind.load(std::memory_order_relaxed) != GuardKind::mprotect) {
    if (::madvise(low, bytes, MADV_GUARD_INSTALL) == 0) {
      guard_kind.store(GuardKind::madvise, std::memory_order_relaxed);
      return;
    }
    if (errno != EINVAL || guard_kind.load(std::memory_order_relaxed) == GuardKind::madvise)
      throw std::system_error(errno, std::generic_category(), "green: madvise(MADV_GUARD_INSTALL)");
    guard_kind.store(GuardKind::mprotect, std::memory_order_relaxed);
  }
  if (::mprotect(low, bytes, PROT_NONE) != 0) {
    int err = errno;
    throw std::system_error(
        err, std::generic_category(),
        "green: cannot add a stack guard page (each one costs a kernel mapping and "
        "vm.max_map_count is reached): set GREEN_GUARD_PAGES=0 or raise vm.max_map_count");
  }
}

}  // namespace

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

StackConfig& StackConfig::get() {
  static StackConfig config = [] {
    StackConfig c{kDefaultStackSize, 1, false};
    if (std::size_t size = parse_size(std::getenv("GREEN_STACK_SIZE")))
      c.default_size = std::max(size, kMinStackSize);
    if (const char* guard = std::getenv("GREEN_GUARD_PAGES"); guard && *guard)
      c.guard_pages = std::strtoul(guard, nullptr, 10);
    if (const char* mode = std::getenv("GREEN_GUARD_MODE"); mode && std::string(mode) == "mprotect")
      c.force_mprotect = true;
    return c;
  }();
  return config;
}

StackPool::~StackPool() {
  // exit() called inside a greenlet runs thread-exit cleanup on that greenlet's stack:
  // never unmap the slab we are standing on.
  char here;
  for (const Slab& slab : slabs_) {
    if (&here >= slab.base && &here < slab.base + slab.bytes) continue;
    ::munmap(slab.base, slab.bytes);
    mprotect_guarded_stacks.fetch_sub(slab.mprotect_guards, std::memory_order_relaxed);
  }
}

StackPool::SizeClass& StackPool::size_class(std::size_t size, std::size_t guard) {
  for (SizeClass& cls : classes_)
    if (cls.size == size && cls.guard == guard) return cls;
  classes_.push_back(SizeClass{size, guard, {}});
  return classes_.back();
}

void StackPool::grow(SizeClass& cls) {
  const std::size_t stride = cls.size + cls.guard;
  std::size_t count = std::clamp<std::size_t>(kSlabBytes / stride, 1, kMaxStacksPerSlab);
  std::size_t bytes = stride * count;
  const auto map = [](std::size_t n) {
    return ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  };
  void* base = map(bytes);
  if (base == MAP_FAILED && errno == ENOMEM && count > 1) {
    // Near an address-space limit (RLIMIT_AS) a whole slab may not fit where one stack
    // still does: keep spawning for as long as the kernel gives anything.
    count = 1;
    bytes = stride;
    base = map(bytes);
  }
  if (base == MAP_FAILED) {
    const int error = errno;
    throw std::system_error(
        error, std::generic_category(),
        "green: cannot map a greenlet stack of " + std::to_string(cls.size >> 10) + " KiB" +
            (cls.guard > 0 ? " (plus a " + std::to_string(cls.guard >> 10) + " KiB guard)" : std::string()) +
            ": the kernel refused more address space (ulimit -v / RLIMIT_AS, vm.overcommit, vm.max_map_count). "
            "Spawn fewer greenlets at once, give them smaller stacks (GREEN_STACK_SIZE, SpawnOptions::stack_size), "
            "or raise the limit");
  }
  char* low = static_cast<char*>(base);
  std::size_t mprotect_guards = 0;
  try {
    if (cls.guard > 0 && guard_kind.load(std::memory_order_relaxed) == GuardKind::mprotect)
      check_mprotect_budget(count, cls.size);
    cls.free.reserve(cls.free.size() + count);
    // Pushed highest first so the lowest address is handed out first.
    for (std::size_t i = count; i-- > 0;) {
      char* stack_low = low + i * stride;
      install_guard(stack_low, cls.guard);
      if (cls.guard > 0 && guard_kind.load(std::memory_order_relaxed) == GuardKind::mprotect) {
        if (mprotect_guards == 0) check_mprotect_budget(count, cls.size);  // learnt just now
        ++mprotect_guards;
      }
      cls.free.push_back(Stack{stack_low, cls.size, cls.guard});
    }
  } catch (...) {
    ::munmap(base, bytes);
    std::erase_if(cls.free, [&](const Stack& s) { return s.low >= low && s.low < low + bytes; });
    throw;
  }
  mprotect_guarded_stacks.fetch_add(mprotect_guards, std::memory_order_relaxed);
  slabs_.push_back(Slab{low, bytes, mprotect_guards});
}

StackPool::SizeClass& StackPool::size_class_for(std::size_t requested) {
  if (last_class_ < classes_.size() && requested == last_requested_) return classes_[last_class_];
  const StackConfig& config = StackConfig::get();
  const std::size_t size = round_to_pages(requested == 0 ? config.default_size : std::max(requested, kMinStackSize));
  if (size < requested || size > (std::size_t{1} << 62))  // rounding wrapped, or stride would
    throw std::system_error(ENOMEM, std::generic_category(),
                            "green: a greenlet stack of " + std::to_string(requested) + " bytes is impossibly large");
  SizeClass& cls = size_class(size, config.guard_pages * page_size());
  last_requested_ = requested;
  last_class_ = static_cast<std::size_t>(&cls - classes_.data());
  return cls;
}

void StackPool::ensure_available(std::size_t size) {
  SizeClass& cls = size_class_for(size);
  if (cls.free.empty()) grow(cls);
}

Stack StackPool::acquire(std::size_t size) {
  SizeClass& cls = size_class_for(size);
  if (cls.free.empty()) grow(cls);
  Stack stack = cls.free.back();
  cls.free.pop_back();
#if defined(__SANITIZE_ADDRESS__)
  // A greenlet abandoned at thread exit never unwound: its frames' redzones are still
  // poisoned in the shadow, even once the memory is unmapped and mapped again.
  __asan_unpoison_memory_region(stack.low + stack.guard, stack.size);
#endif
  return stack;
}

void StackPool::release(const Stack& stack) noexcept {
  SizeClass& cls = size_class(stack.size, stack.guard);
  if (cls.free.size() >= kWarmStacks) ::madvise(stack.low + stack.guard, stack.size, MADV_DONTNEED);
  cls.free.push_back(stack);
}

}  // namespace green::detail
