// The threads family's shared machinery: see threads.hpp.
#include "threads.hpp"

#include <dlfcn.h>
#include <link.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <unordered_map>

#include "green/errors.hpp"

namespace green::patch::threads {
namespace {

// Code whose calls always pass through: green's own libraries (their locks guard a few
// instructions, sometimes under a spin lock, and must never switch) and the sanitizer
// runtimes (they keep per-OS-thread state in pthread keys).
struct Range {
  std::uintptr_t begin = 0, end = 0;
  bool contains(std::uintptr_t a) const noexcept { return a >= begin && a < end; }
};
constexpr int kMaxRanges = 8;
Range own_ranges[kMaxRanges];
int own_range_count = 0;

bool is_sanitizer_runtime(const char* path) {
  const char* base = std::strrchr(path, '/');
  base = base ? base + 1 : path;
  for (const char* prefix : {"libasan.", "libubsan.", "libtsan.", "liblsan.", "libhwasan."})
    if (std::strncmp(base, prefix, std::strlen(prefix)) == 0) return true;
  return false;
}

void add_text_ranges(const char* own_a, const char* own_b) {
  struct Search {
    const char* names[2];
  } search{{own_a, own_b}};
  ::dl_iterate_phdr([](dl_phdr_info* phdr, std::size_t, void* data) {
    auto* s = static_cast<Search*>(data);
    if (phdr->dlpi_name == nullptr || phdr->dlpi_name[0] == '\0') return 0;
    const bool ours = (s->names[0] && std::strcmp(phdr->dlpi_name, s->names[0]) == 0) ||
                      (s->names[1] && std::strcmp(phdr->dlpi_name, s->names[1]) == 0);
    if (!ours && !is_sanitizer_runtime(phdr->dlpi_name)) return 0;
    Range found;
    for (int i = 0; i < phdr->dlpi_phnum; ++i) {
      const ElfW(Phdr)& seg = phdr->dlpi_phdr[i];
      if (seg.p_type != PT_LOAD || !(seg.p_flags & PF_X)) continue;
      std::uintptr_t b = phdr->dlpi_addr + seg.p_vaddr, e = b + seg.p_memsz;
      if (found.begin == 0 || b < found.begin) found.begin = b;
      if (e > found.end) found.end = e;
    }
    if (found.begin != 0 && own_range_count < kMaxRanges) own_ranges[own_range_count++] = found;
    return 0;
  }, &search);
}

const char* object_of(const void* symbol) {
  Dl_info info;
  return ::dladdr(symbol, &info) != 0 ? info.dli_fname : nullptr;
}

// Runs before the library's other constructors. Until then every hook passes through:
// a sanitizer runtime calls hooks before libc has set up the environment, where
// GREEN_THREADS could not be read yet.
__attribute__((constructor(101))) void find_own_text() {
  add_text_ranges(object_of(reinterpret_cast<const void*>(&green::get_hub)),
                  object_of(reinterpret_cast<const void*>(&find_own_text)));
  __atomic_store_n(&threads_on, Config::get().patched(Family::threads), __ATOMIC_RELEASE);
}

// The lot's table. A plain spin lock: a std::mutex here would call our own hooks.
detail::SpinLock lot_lock;
struct List {
  Parked* head = nullptr;
  Parked* tail = nullptr;
};
std::unordered_map<const void*, List>& lot_table() {
  static auto* table = new std::unordered_map<const void*, List>();  // outlives exit-time hooks
  return *table;
}

double to_seconds(const timespec& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9; }

}  // namespace

bool threads_on = false;

GreenletBase* self_for(const void* caller) noexcept {
  if (!enabled()) return nullptr;
  const auto a = reinterpret_cast<std::uintptr_t>(caller);
  for (int i = 0; i < own_range_count; ++i)
    if (own_ranges[i].contains(a)) return nullptr;
  return detail::blockable_greenlet();
}

bool valid_timespec(const timespec* t) noexcept {
  return t != nullptr && t->tv_nsec >= 0 && t->tv_nsec < 1'000'000'000L;
}

double Deadline::left() const noexcept {
  timespec now;
  ::clock_gettime(clock, &now);
  return to_seconds(at) - to_seconds(now);
}

std::optional<double> seconds_left(const Deadline* deadline) noexcept {
  if (deadline == nullptr) return std::nullopt;
  return deadline->left();
}

void lot::lock() noexcept { lot_lock.lock(); }
void lot::unlock() noexcept { lot_lock.unlock(); }

namespace {
void forget_hub(const Hub* hub) noexcept;

// A thread's hub abandons its greenlets, stacks and all, when the thread ends (for the main
// thread: in exit(), before static destructors run). Their parked nodes must go first, or
// a later release (a global's destructor broadcasting a condvar) would wake freed memory.
// Made on a thread's first park, after its hub, so destroyed before it.
struct ForgetAtThreadExit {
  const Hub* hub;
  ~ForgetAtThreadExit() { forget_hub(hub); }
};
}  // namespace

void lot::park_locked(const void* key, Parked& node) {
  node.hub = &node.waiter->greenlet().hub();
  static thread_local ForgetAtThreadExit forget{node.hub};
  List& list = lot_table()[key];
  node.key = key;
  node.next = nullptr;
  node.prev = list.tail;
  if (list.tail != nullptr)
    list.tail->next = &node;
  else
    list.head = &node;
  list.tail = &node;
}

namespace {
void unpark_locked(List& list, Parked& node) noexcept {
  if (node.prev != nullptr)
    node.prev->next = node.next;
  else
    list.head = node.next;
  if (node.next != nullptr)
    node.next->prev = node.prev;
  else
    list.tail = node.prev;
  node.prev = node.next = nullptr;
  node.key = nullptr;
}

void forget_hub(const Hub* hub) noexcept {
  std::lock_guard guard(lot_lock);
  auto& table = lot_table();
  for (auto it = table.begin(); it != table.end();) {
    for (Parked* node = it->second.head; node != nullptr;) {
      Parked* next = node->next;
      if (node->hub == hub) unpark_locked(it->second, *node);
      node = next;
    }
    it = it->second.head == nullptr ? table.erase(it) : std::next(it);
  }
}
}  // namespace

void lot::unpark(Parked& node) noexcept {
  std::lock_guard guard(lot_lock);
  if (node.key == nullptr) return;
  auto& table = lot_table();
  auto it = table.find(node.key);
  unpark_locked(it->second, node);
  if (it->second.head == nullptr) table.erase(it);
}

std::size_t lot::wake(const void* key, std::size_t n, unsigned bits) noexcept {
  std::size_t woken = 0;
  std::lock_guard guard(lot_lock);
  auto& table = lot_table();
  auto it = table.find(key);
  if (it == table.end()) return 0;
  List& list = it->second;
  for (Parked* node = list.head; node != nullptr && woken < n;) {
    Parked* next = node->next;
    if (node->bitset & bits) {
      unpark_locked(list, *node);
      // A greenlet about to be killed, or one whose timeout won, refuses: wake the next.
      if (node->waiter->notify(Waiter::kNotified)) ++woken;
    }
    node = next;
  }
  if (list.head == nullptr) table.erase(it);
  return woken;
}

Woke block(GreenletBase& self, Waiter& w, std::optional<double> timeout) noexcept {
  if (timeout && *timeout < 0) timeout = 0.0;
  bool kept_is_kill = false;
  std::exception_ptr kept;
  if (detail::has_deferred_exception(self)) kept = detail::take_deferred_exception(self, kept_is_kill);
  Woke result = Woke::interrupted;
  try {
    result = w.wait(timeout) == Waiter::kTimedOut ? Woke::timed_out : Woke::notified;
  } catch (const LoopExit& e) {
    std::fprintf(stderr, "green-patch: deadlock in a thread (--threads): %s\n", e.what());
    std::abort();
  } catch (const GreenletExit&) {
    detail::defer_exception(self, std::current_exception(), true);
  } catch (...) {
    detail::defer_exception(self, std::current_exception(), false);
  }
  if (kept) detail::defer_exception(self, std::move(kept), kept_is_kill);
  return result;
}

void yield_now(GreenletBase& self) noexcept {
  bool kept_is_kill = false;
  std::exception_ptr kept;
  if (detail::has_deferred_exception(self)) kept = detail::take_deferred_exception(self, kept_is_kill);
  try {
    green::sleep(0);
  } catch (const GreenletExit&) {
    detail::defer_exception(self, std::current_exception(), true);
  } catch (...) {
    detail::defer_exception(self, std::current_exception(), false);
  }
  if (kept) detail::defer_exception(self, std::move(kept), kept_is_kill);
}

}  // namespace green::patch::threads
