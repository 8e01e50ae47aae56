#include "fd_table.hpp"

#include <ev.h>
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cmath>
#include <limits>
#include <mutex>
#include <new>

#include "green/errors.hpp"
#include "green/hub.hpp"
#include "real.hpp"

namespace green::patch {
namespace {

// 1,024 entries per chunk; the directory doubles when an fd beyond it appears. Old
// directories are kept (a reader may still hold one): they hold only chunk pointers.
constexpr int kChunkBits = 10;
constexpr int kChunkSize = 1 << kChunkBits;

struct Directory {
  std::size_t size;  // chunk slots
  std::atomic<FdEntry*>* chunks;
};

// Constant-initialised: hooks may run before any constructor.
constinit std::atomic<Directory*> directory{nullptr};
constinit std::mutex grow_mutex;

Directory* grow(std::size_t need_chunks) noexcept {
  std::lock_guard guard(grow_mutex);
  Directory* old = directory.load(std::memory_order_acquire);
  if (old != nullptr && old->size >= need_chunks) return old;
  std::size_t size = old != nullptr ? old->size : 1;
  while (size < need_chunks) size *= 2;
  auto* chunks = new (std::nothrow) std::atomic<FdEntry*>[size];
  auto* dir = new (std::nothrow) Directory{size, chunks};
  if (chunks == nullptr || dir == nullptr) {
    delete[] chunks;
    delete dir;
    return old;
  }
  for (std::size_t i = 0; i < size; ++i)
    chunks[i].store(old != nullptr && i < old->size ? old->chunks[i].load(std::memory_order_relaxed) : nullptr,
                    std::memory_order_relaxed);
  directory.store(dir, std::memory_order_release);
  return dir;
}

}  // namespace

void FdEntry::manage(FdKind kind, bool user_nonblock) noexcept {
  user_nonblock_.store(user_nonblock, std::memory_order_relaxed);
  recv_timeout_us_.store(0, std::memory_order_relaxed);
  send_timeout_us_.store(0, std::memory_order_relaxed);
  kind_.store(kind, std::memory_order_release);
}

void FdEntry::copy_from(const FdEntry& other) noexcept {
  user_nonblock_.store(other.user_nonblock(), std::memory_order_relaxed);
  recv_timeout_us_.store(other.recv_timeout_us_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  send_timeout_us_.store(other.send_timeout_us_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  kind_.store(other.kind(), std::memory_order_release);
}

void FdEntry::reset() noexcept {
  std::lock_guard guard(lock());
  kind_.store(FdKind::none, std::memory_order_release);
  user_nonblock_.store(false, std::memory_order_relaxed);
  recv_timeout_us_.store(0, std::memory_order_relaxed);
  send_timeout_us_.store(0, std::memory_order_relaxed);
  notify_all_locked(kClosed);
}

FdEntry* find_fd(int fd) noexcept {
  if (fd < 0) return nullptr;
  Directory* dir = directory.load(std::memory_order_acquire);
  const auto chunk = static_cast<std::size_t>(fd) >> kChunkBits;
  if (dir == nullptr || chunk >= dir->size) return nullptr;
  FdEntry* entries = dir->chunks[chunk].load(std::memory_order_acquire);
  return entries != nullptr ? &entries[fd & (kChunkSize - 1)] : nullptr;
}

FdEntry* fd_entry(int fd) noexcept {
  if (FdEntry* e = find_fd(fd)) return e;
  if (fd < 0) return nullptr;
  const auto chunk = static_cast<std::size_t>(fd) >> kChunkBits;
  Directory* dir = directory.load(std::memory_order_acquire);
  if (dir == nullptr || chunk >= dir->size) dir = grow(chunk + 1);
  if (dir == nullptr || chunk >= dir->size) return nullptr;
  FdEntry* entries = dir->chunks[chunk].load(std::memory_order_acquire);
  if (entries == nullptr) {
    std::lock_guard guard(grow_mutex);
    // The directory may have been replaced meanwhile: publish in the current one, which
    // shares every chunk pointer with the old.
    dir = directory.load(std::memory_order_acquire);
    entries = dir->chunks[chunk].load(std::memory_order_acquire);
    if (entries == nullptr) {
      entries = new (std::nothrow) FdEntry[kChunkSize];
      if (entries == nullptr) return nullptr;
      dir->chunks[chunk].store(entries, std::memory_order_release);
    }
  }
  return &entries[fd & (kChunkSize - 1)];
}

void manage_fd(int fd, FdKind kind, bool user_nonblock) noexcept {
  if (FdEntry* e = fd_entry(fd)) e->manage(kind, user_nonblock);
}

void forget_fd(int fd) noexcept {
  if (FdEntry* e = find_fd(fd); e != nullptr && (e->managed() || e->has_links())) e->reset();
}

void copy_fd(int from, int to) noexcept {
  FdEntry* source = managed_fd(from);
  if (source == nullptr) {
    forget_fd(to);
    return;
  }
  if (FdEntry* target = fd_entry(to)) target->copy_from(*source);
}

double monotonic_now() noexcept {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

namespace {

// Linked to the fd's entry while a greenlet waits on it, so that close can wake it.
class FdWait final : public LinkNode {
 public:
  FdWait(Waiter& waiter, ev_io& io, Hub& hub) noexcept : waiter_(waiter), io_(io), hub_(hub) {}
  bool notify(int reason) noexcept override {
    // Closed under us: on our own thread stop the watcher now, before the fd number is
    // reused; from another thread the waiter stops it when it wakes.
    if (hub_.is_current_thread()) ev_io_stop(hub_.loop(), &io_);
    return waiter_.notify(reason);
  }

 private:
  Waiter& waiter_;
  ev_io& io_;
  Hub& hub_;
};

}  // namespace

WaitResult wait_fd(GreenletBase& self, int fd, FdEntry& entry, WaitFor what, std::optional<double> timeout,
                   bool* timeout_error) noexcept {
  // A kill delivered earlier and not yet raised would end this wait at once: a C retry
  // loop would spin. Wait without it, then keep it for the next green:: call.
  bool kept_is_kill = false;
  std::exception_ptr kept;
  if (detail::has_deferred_exception(self)) kept = detail::take_deferred_exception(self, kept_is_kill);
  WaitResult result = WaitResult::interrupted;
  try {
    Hub& hub = get_hub();
    Waiter waiter("fd wait");
    ev_io io;
    ev_io_init(&io, [](struct ev_loop* loop, ev_io* w, int) {
      ev_io_stop(loop, w);
      static_cast<Waiter*>(w->data)->notify(Waiter::kNotified);
    }, fd, what == WaitFor::read ? EV_READ : EV_WRITE);
    io.data = &waiter;
    FdWait node(waiter, io, hub);
    entry.link(node);
    struct Cleanup {
      Hub& hub;
      ev_io& io;
      FdEntry& entry;
      FdWait& node;
      ~Cleanup() {
        ev_io_stop(hub.loop(), &io);
        entry.unlink(node);
      }
    } cleanup{hub, io, entry, node};
    if (!entry.managed()) {
      result = WaitResult::closed;  // closed between the caller's check and the link
    } else {
      ev_io_start(hub.loop(), &io);
      const int reason = waiter.wait(timeout);
      result = reason == Waiter::kTimedOut ? WaitResult::timed_out
               : reason == FdEntry::kClosed ? WaitResult::closed
                                            : WaitResult::ready;
    }
  } catch (const GreenletExit&) {
    detail::defer_exception(self, std::current_exception(), true);
  } catch (const TimeoutError&) {
    if (timeout_error != nullptr) *timeout_error = true;
    detail::defer_exception(self, std::current_exception(), false);
  } catch (...) {
    detail::defer_exception(self, std::current_exception(), false);
  }
  if (kept) detail::defer_exception(self, std::move(kept), kept_is_kill);
  return result;
}

int block_fd(int fd, WaitFor what, std::optional<double> timeout) noexcept {
  pollfd p{fd, static_cast<short>(what == WaitFor::read ? POLLIN : POLLOUT), 0};
  int ms = -1;
  if (timeout) ms = static_cast<int>(std::min(std::ceil(*timeout * 1000), double(std::numeric_limits<int>::max())));
  const int r = GREEN_REAL(poll)(&p, 1, ms);
  if (r > 0) return 0;
  if (r == 0) return EAGAIN;
  return errno;
}

}  // namespace green::patch
