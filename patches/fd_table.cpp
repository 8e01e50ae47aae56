#include "fd_table.hpp"

#include <ev.h>
#include <poll.h>
#include <time.h>

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <new>

#include "green/errors.hpp"
#include "green/hub.hpp"
#include "green/fd_wait.hpp"
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
  // The directory this one replaced: never freed (a lock-free reader may still be in it),
  // and kept reachable so that leak checkers know it is not lost.
  Directory* replaced;
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
  auto* dir = new (std::nothrow) Directory{size, chunks, old};
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
  drained_.store(false, std::memory_order_relaxed);
  recv_timeout_us_.store(0, std::memory_order_relaxed);
  send_timeout_us_.store(0, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  kind_.store(kind, std::memory_order_release);
}

void FdEntry::copy_from(const FdEntry& other) noexcept {
  user_nonblock_.store(other.user_nonblock(), std::memory_order_relaxed);
  drained_.store(false, std::memory_order_relaxed);
  recv_timeout_us_.store(other.recv_timeout_us_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  send_timeout_us_.store(other.send_timeout_us_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  kind_.store(other.kind(), std::memory_order_release);
}

void FdEntry::reset() noexcept {
  kind_.store(FdKind::none, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  drained_.store(false, std::memory_order_relaxed);
  user_nonblock_.store(false, std::memory_order_relaxed);
  recv_timeout_us_.store(0, std::memory_order_relaxed);
  send_timeout_us_.store(0, std::memory_order_relaxed);
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
  if (FdEntry* e = fd_entry(fd)) {
    e->manage(kind, user_nonblock);
    fd_opened(fd);
  }
}

void forget_fd(int fd) noexcept {
  // Waiters on any descriptor (a poll on an inherited fd included) learn it is gone.
  fd_closing(fd, EBADF);
  drop_parked_watcher(fd);
  if (FdEntry* e = find_fd(fd); e != nullptr && e->managed()) e->reset();
}

void forget_fd_range(unsigned first, unsigned last) noexcept {
  Directory* dir = directory.load(std::memory_order_acquire);
  if (dir == nullptr) return;
  const std::size_t end = std::min<std::size_t>(last, dir->size * kChunkSize - 1);
  for (std::size_t fd = first; fd <= end; ++fd) {
    FdEntry* entries = dir->chunks[fd >> kChunkBits].load(std::memory_order_acquire);
    if (entries == nullptr) {
      fd |= kChunkSize - 1;  // skip the whole chunk
      continue;
    }
    if (entries[fd & (kChunkSize - 1)].managed()) forget_fd(static_cast<int>(fd));
  }
}

void copy_fd(int from, int to) noexcept {
  FdEntry* source = managed_fd(from);
  if (source == nullptr) {
    forget_fd(to);
    return;
  }
  if (FdEntry* target = fd_entry(to)) {
    target->copy_from(*source);
    fd_opened(to);
  }
}

double monotonic_now() noexcept {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

WaitResult wait_fd(GreenletBase& self, int fd, WaitFor what, std::optional<double> timeout,
                   bool* timeout_error) noexcept {
  bool kept_is_kill = false;
  std::exception_ptr kept;
  if (detail::has_deferred_exception(self)) kept = detail::take_deferred_exception(self, kept_is_kill);
  const WaitStatus status =
      wait_fd_noexcept(fd, what == WaitFor::read ? kReadable : kWritable, timeout, /*exclusive=*/false);
  WaitResult result = WaitResult::interrupted;
  switch (status.result) {
    case green::WaitResult::ready: result = WaitResult::ready; break;
    case green::WaitResult::timed_out: result = WaitResult::timed_out; break;
    case green::WaitResult::cancelled: result = status.error == EBADF ? WaitResult::closed : WaitResult::failed; break;
    case green::WaitResult::busy: result = WaitResult::failed; break;
    case green::WaitResult::interrupted: {
      // Tell a Timeout from a kill, and keep it.
      bool is_kill = false;
      std::exception_ptr error = detail::take_deferred_exception(self, is_kill);
      if (timeout_error != nullptr) *timeout_error = !is_kill;
      detail::defer_exception(self, std::move(error), is_kill);
      break;
    }
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
