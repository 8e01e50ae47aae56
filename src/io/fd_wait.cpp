#include "green/fd_wait.hpp"

#include <ev.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

#include "green/hub.hpp"
#include "io/fd_wait_internal.hpp"

namespace green {
namespace {

constexpr int kCancelled = 2;  // Waiter reason beside kNotified / kTimedOut

struct WaitNode;

// One per fd number, process-wide: who waits on it, and whether green manages its life.
struct Slot {
  detail::SpinLock lock;
  bool managed = false;
  WaitNode* head = nullptr;
  struct ev_loop* registered = nullptr;  // managed fds: the loop that registered it last
  // Managed fds: the fd's own watcher, left started between waits on the hub that started
  // it, so that a greenlet waiting on the fd again (the recv after each send) costs no
  // ev_io_start / ev_io_stop / fd_reify. `io_hub` and `io_serial` (the Hub's serial: a
  // dead hub's address may be reused) name that hub and change under the lock; `io` and
  // `io_user` are touched only on that hub's thread. While `io_user` (the wait it serves)
  // is null the watcher is parked: unref'd, so that it keeps no hub from LoopExit, and
  // stopped the first time it fires (see on_slot_io).
  ev_io io{};
  Hub* io_hub = nullptr;
  std::uint64_t io_serial = 0;
  WaitNode* io_user = nullptr;

  bool io_started_on(const Hub& hub) const noexcept { return io_hub == &hub && io_serial == hub.serial(); }
  // On io_hub's thread, under the lock.
  void stop_io(struct ev_loop* loop) noexcept {
    if (io_user == nullptr) ev_ref(loop);  // parked watchers are unref'd
    ev_io_stop(loop, &io);
    io_hub = nullptr;
    io_serial = 0;
    io_user = nullptr;
  }
};

// Two levels, chunks allocated on first use and never freed: a wait allocates nothing and
// a lookup takes no lock. 2^16 chunks of 2^10 slots cover 64M descriptors.
constexpr int kChunkBits = 10;
constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
constexpr std::size_t kChunks = std::size_t{1} << 16;
std::atomic<Slot*> table[kChunks];

Slot* find_slot(int fd) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd >> kChunkBits) >= kChunks) return nullptr;
  Slot* chunk = table[fd >> kChunkBits].load(std::memory_order_acquire);
  return chunk == nullptr ? nullptr : &chunk[fd & (kChunkSize - 1)];
}

__attribute__((noinline)) Slot& slot_for_slow(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd >> kChunkBits) >= kChunks)
    throw std::invalid_argument("green: file descriptor " + std::to_string(fd) + " is out of range");
  std::atomic<Slot*>& entry = table[fd >> kChunkBits];
  Slot* chunk = entry.load(std::memory_order_acquire);
  if (chunk == nullptr) {
    auto* fresh = new Slot[kChunkSize];
    if (entry.compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel))
      chunk = fresh;
    else
      delete[] fresh;  // another thread won; `chunk` holds its chunk
  }
  return chunk[fd & (kChunkSize - 1)];
}

inline Slot& slot_for(int fd) {
  if (Slot* slot = find_slot(fd)) [[likely]]
    return *slot;
  return slot_for_slow(fd);
}

// Lives in the waiting greenlet's frame for the length of one wait.
struct WaitNode {
  WaitNode(const char* what, int fd, int events, bool exclusive)
      : waiter(what), hub(&waiter.hub()), fd(fd), events(events), exclusive(exclusive) {
    // Shown by run info and gdb's green-info beside the wait's description.
    waiter.set_fd(fd, events == (kReadable | kWritable) ? "read/write" : events == kReadable ? "read" : "write");
  }

  Waiter waiter;
  Hub* hub;
  int fd;
  int events;
  bool exclusive;
  bool own_io = false;  // served by the slot's watcher; `io` is then unused
  int revents = 0;
  int error = 0;  // written under the slot's lock before the cancel notify
  WaitNode* prev = nullptr;
  WaitNode* next = nullptr;
  bool linked = false;
  // Last: unused when the slot's own watcher serves the wait (the common case), so the
  // lines a wait touches are the fields above.
  ev_io io;
};

void unlink_locked(Slot& slot, WaitNode& node) noexcept {
  if (!node.linked) return;
  if (node.prev != nullptr)
    node.prev->next = node.next;
  else
    slot.head = node.next;
  if (node.next != nullptr) node.next->prev = node.prev;
  node.prev = node.next = nullptr;
  node.linked = false;
}

const char* direction(int events) {
  return events == kReadable ? "read" : events == kWritable ? "write" : "read or write";
}

void on_io(struct ev_loop* loop, ev_io* w, int revents) {
  auto& node = *static_cast<WaitNode*>(w->data);
  node.revents = revents & (EV_READ | EV_WRITE);
  ev_io_stop(loop, w);  // level-triggered: do not fire again before the greenlet runs
  node.waiter.notify(Waiter::kNotified);
}

void on_slot_io(struct ev_loop* loop, ev_io* w, int revents) {
  auto& slot = *static_cast<Slot*>(w->data);
  WaitNode* node = slot.io_user;
  if (node == nullptr || node->waiter.fired()) {
    // Ready while no wait needs it: level-triggered, it would fire at every iteration.
    // Stop it; the next wait starts it again.
    std::lock_guard guard(slot.lock);
    slot.stop_io(loop);
    return;
  }
  node->revents = revents & (EV_READ | EV_WRITE);
  node->waiter.notify(Waiter::kNotified);
}

__attribute__((noinline, noreturn)) void invalid(int fd, int events, std::optional<double> timeout, const char* what) {
  if (fd < 0) throw std::invalid_argument(std::string("green::") + what + ": fd must be >= 0, got " + std::to_string(fd));
  if (events == 0 || (events & ~(kReadable | kWritable)) != 0)
    throw std::invalid_argument(std::string("green::") + what + ": events must be kReadable, kWritable or both, got " +
                                std::to_string(events));
  throw std::invalid_argument(std::string("green::") + what + ": timeout must be >= 0, got " +
                              detail::format_seconds(timeout.value_or(-1)));
}

inline void validate(int fd, int events, std::optional<double> timeout, const char* what) {
  if (fd < 0 || events == 0 || (events & ~(kReadable | kWritable)) != 0 || (timeout && !(*timeout >= 0))) [[unlikely]]
    invalid(fd, events, timeout, what);
}

// The one implementation. `busy_with` receives the other waiter's name on `busy`.
// Inlined into its callers: a waiting greenlet's stack then holds one frame fewer.
inline __attribute__((always_inline)) WaitStatus wait_impl(int fd, int events, std::optional<double> timeout, bool exclusive, const char* what,
                     std::optional<std::string>* busy_with) {
  validate(fd, events, timeout, what);
  Slot& slot = slot_for(fd);
  WaitNode node(what, fd, events, exclusive);
  Hub& hub = *node.hub;
  struct ev_loop* loop = hub.loop();
  bool same_file = false;
  {
    std::lock_guard guard(slot.lock);
    if (exclusive) {
      for (WaitNode* other = slot.head; other != nullptr; other = other->next) {
        if ((other->events & events) == 0) continue;
        if (busy_with != nullptr) busy_with->emplace(other->waiter.greenlet().name());
        return {WaitResult::busy, 0, EBUSY};
      }
    }
    if (slot.managed) {
      // Same open file since this loop registered it: libev's kernel state is right, so
      // skip its defensive re-registration (an epoll_ctl per wait).
      same_file = slot.registered == loop;
      slot.registered = loop;
      // Started by a hub that has died since (this one now has its address): forget it.
      if (slot.io_hub == &hub && slot.io_serial != hub.serial()) slot.io_hub = nullptr;
      bool& own_io = node.own_io;
      if (slot.io_started_on(hub) && slot.io_user == nullptr) {
        if (same_file && (slot.io.events & (EV_READ | EV_WRITE)) == events) {
          ev_ref(loop);  // parked and ready to serve: the common case, nothing to start
          own_io = true;
        } else {
          slot.stop_io(loop);
        }
      }
      if (!own_io && slot.io_hub == nullptr) {
        ev_io_init(&slot.io, on_slot_io, fd, events);
        slot.io.data = &slot;
        if (same_file) slot.io.events &= ~EV__IOFDSET;
        ev_io_start(loop, &slot.io);
        slot.io_hub = &hub;
        slot.io_serial = hub.serial();
        own_io = true;
      }
      if (own_io) slot.io_user = &node;
    }
    node.next = slot.head;
    if (slot.head != nullptr) slot.head->prev = &node;
    slot.head = &node;
    node.linked = true;
  }
  const bool own_io = node.own_io;
  if (!own_io) {
    // Not managed, or the slot's watcher serves another wait (or another hub).
    ev_io_init(&node.io, on_io, fd, events);
    node.io.data = &node;
    if (same_file) node.io.events &= ~EV__IOFDSET;
    ev_io_start(loop, &node.io);
  }
  // Leaves the wait: stops (or parks) the watcher and unlinks the node, and returns the
  // error a cancel_wait left on it (0 if none), read under the slot's lock.
  struct Cleanup {
    Slot& slot;
    WaitNode& node;
    struct ev_loop* loop;
    bool own_io;
    bool done = false;
    int finish() noexcept {
      done = true;
      if (!own_io) ev_io_stop(loop, &node.io);
      std::lock_guard guard(slot.lock);
      if (own_io && slot.io_user == &node) {
        slot.io_user = nullptr;  // park it for this fd's next wait
        ev_unref(loop);
      }
      unlink_locked(slot, node);
      return node.error;
    }
    ~Cleanup() {
      if (!done) finish();
    }
  } cleanup{slot, node, loop, own_io};
  const int reason = node.waiter.wait(timeout);
  // The fd may have been closed after it became ready (or the timer fired) but before this
  // greenlet ran again: cancel_wait could no longer wake it, but left its error on the
  // node. The number may already name another file (the next socket() or accept() gets
  // it), so "ready" must not reach the caller, who would read another connection's bytes.
  if (const int error = cleanup.finish(); error != 0 || reason == kCancelled)
    return {WaitResult::cancelled, 0, error != 0 ? error : node.error};
  if (reason == Waiter::kTimedOut) return {WaitResult::timed_out, 0, 0};
  return {WaitResult::ready, node.revents, 0};
}

}  // namespace

WaitStatus wait_fd(int fd, int events, std::optional<double> timeout, bool exclusive) {
  return wait_impl(fd, events, timeout, exclusive, "wait_fd", nullptr);
}

WaitStatus wait_fd_noexcept(int fd, int events, std::optional<double> timeout, bool exclusive) noexcept {
  GreenletBase* self = detail::blockable_greenlet();
  if (self == nullptr || fd < 0 || events == 0 || (events & ~(kReadable | kWritable)) != 0 ||
      (timeout && !(*timeout >= 0)))
    return {WaitResult::cancelled, 0, EINVAL};
  try {
    return wait_impl(fd, events, timeout, exclusive, "wait_fd", nullptr);
  } catch (const GreenletExit&) {
    detail::defer_exception(*self, std::current_exception(), true);
  } catch (const std::bad_alloc&) {
    return {WaitResult::cancelled, 0, ENOMEM};
  } catch (const std::invalid_argument&) {
    return {WaitResult::cancelled, 0, EINVAL};
  } catch (...) {
    detail::defer_exception(*self, std::current_exception(), false);
  }
  return {WaitResult::interrupted, 0, 0};
}

namespace detail {
namespace {
// Out of line, so that the messages' temporaries take no room in wait_io's frame: that
// frame sits on every waiting greenlet's stack, and each cache line of it touched per wait
// is a miss once thousands of greenlets take turns.
[[noreturn, gnu::noinline, gnu::cold]] void throw_wait_failure(const WaitStatus& status, int fd, int events,
                                                              const char* what, const std::optional<std::string>& other) {
  if (status.result == WaitResult::cancelled)
    throw std::system_error(status.error, std::generic_category(),
                            std::string("green::") + what + ": fd " + std::to_string(fd) +
                                " was closed in another greenlet while this one waited to " + direction(events));
  throw std::logic_error(std::string("green::") + what + ": greenlet '" + other.value_or("?") + "' already waits to " +
                         direction(events) + " fd " + std::to_string(fd) + "; two greenlets cannot " +
                         direction(events) + " the same socket at once");
}
}  // namespace

bool wait_io(int fd, int events, std::optional<double> timeout, const char* what) {
  std::optional<std::string> other;  // who waits already, on `busy`
  const WaitStatus status = wait_impl(fd, events, timeout, true, what, &other);
  if (status.result == WaitResult::ready) return true;
  if (status.result == WaitResult::timed_out) return false;
  throw_wait_failure(status, fd, events, what, other);
}
}  // namespace detail

bool wait_read(int fd, std::optional<double> timeout) { return detail::wait_io(fd, kReadable, timeout, "wait_read"); }

bool wait_write(int fd, std::optional<double> timeout) { return detail::wait_io(fd, kWritable, timeout, "wait_write"); }

std::size_t cancel_wait(int fd, int error) noexcept {
  Slot* slot = find_slot(fd);
  if (slot == nullptr) return 0;
  std::size_t woken = 0;
  std::lock_guard guard(slot->lock);
  // On the watchers' own thread, stop watching the descriptor before it is closed. (On
  // another thread, the waiters stop theirs as they leave; a parked slot watcher stays
  // until its hub next waits on this fd number, which then registers it afresh.)
  if (slot->io_hub != nullptr && slot->io_hub->is_current_thread() && slot->io_started_on(*slot->io_hub))
    slot->stop_io(slot->io_hub->loop());
  while (WaitNode* node = slot->head) {
    unlink_locked(*slot, *node);
    node->error = error;
    if (!node->own_io && node->hub->is_current_thread()) ev_io_stop(node->hub->loop(), &node->io);
    if (node->waiter.notify(kCancelled)) ++woken;
  }
  return woken;
}

void fd_opened(int fd) noexcept {
  Slot* slot = nullptr;
  try {
    slot = &slot_for(fd);
  } catch (...) {
    return;  // out of range or no memory: waits simply re-register every time
  }
  std::lock_guard guard(slot->lock);
  slot->managed = true;
  slot->registered = nullptr;
}

std::size_t fd_closing(int fd, int error) noexcept {
  const std::size_t woken = cancel_wait(fd, error);
  if (Slot* slot = find_slot(fd)) {
    std::lock_guard guard(slot->lock);
    slot->managed = false;
    slot->registered = nullptr;
  }
  return woken;
}

}  // namespace green
