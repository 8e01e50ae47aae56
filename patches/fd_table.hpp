// The per-fd state of the patch layer: which descriptors are cooperative and how the
// program believes they behave.
//
// A descriptor is managed when it was made by a hooked call (socket, socketpair, accept,
// accept4, pipe, pipe2) or copied from a managed one (dup, dup2, dup3, F_DUPFD). A managed
// descriptor is really O_NONBLOCK underneath; the table remembers whether the *program*
// asked for O_NONBLOCK (fcntl F_SETFL, ioctl FIONBIO, SOCK_NONBLOCK, accept4/pipe2 flags)
// and shows only that in F_GETFL, and keeps SO_RCVTIMEO/SO_SNDTIMEO as timeouts, since a
// non-blocking socket ignores them in the kernel. Everything else (regular files, the
// standard streams and other inherited descriptors, eventfds, epoll fds) is unmanaged and
// passes straight through.
//
// The table is flat and indexed by fd: a directory of fixed-size chunks that grows to any
// fd number (no cap; sized on demand, not from RLIMIT_NOFILE at start-up). Chunks are
// never freed, so a lookup from any thread is two loads and needs no lock.
//
// Waiting uses the io layer's per-fd waiter table (green/fd_wait.hpp): a managed descriptor is
// announced with fd_opened when a hook creates it (its waits then skip libev's epoll_ctl
// per wait) and with fd_closing before close or a dup2 over it, which wakes every greenlet
// waiting on it with EBADF before the descriptor really goes away.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>


namespace green {
class GreenletBase;
}

namespace green::patch {

// socket: a stream socket; datagram: any other socket type (each read is one message, so a
// short read says nothing about what is queued).
enum class FdKind : std::uint8_t { none = 0, socket, datagram, pipe };

class FdEntry {
 public:
  FdKind kind() const noexcept { return kind_.load(std::memory_order_acquire); }
  bool managed() const noexcept { return kind() != FdKind::none; }
  bool user_nonblock() const noexcept { return user_nonblock_.load(std::memory_order_relaxed); }
  void set_user_nonblock(bool on) noexcept { user_nonblock_.store(on, std::memory_order_relaxed); }
  // SO_RCVTIMEO / SO_SNDTIMEO in seconds; nullopt when unset (0 in the kernel's terms).
  std::optional<double> recv_timeout() const noexcept { return decode(recv_timeout_us_); }
  std::optional<double> send_timeout() const noexcept { return decode(send_timeout_us_); }
  void set_recv_timeout(std::int64_t us) noexcept { recv_timeout_us_.store(us, std::memory_order_relaxed); }
  void set_send_timeout(std::int64_t us) noexcept { send_timeout_us_.store(us, std::memory_order_relaxed); }

  // The last read returned less than asked: the kernel buffer is probably empty, so the
  // next read in a greenlet waits for readiness first instead of paying for an EAGAIN.
  bool drained() const noexcept { return drained_.load(std::memory_order_relaxed); }
  bool stream() const noexcept { return kind() == FdKind::socket || kind() == FdKind::pipe; }
  void set_drained(bool on) noexcept { drained_.store(on, std::memory_order_relaxed); }

  // Changes whenever the number starts or stops naming a managed file (manage, copy_from,
  // reset): what a cache keyed by fd number checks to know it still speaks of one file.
  std::uint32_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

  void manage(FdKind kind, bool user_nonblock) noexcept;
  void copy_from(const FdEntry& other) noexcept;
  void reset() noexcept;

 private:
  static std::optional<double> decode(const std::atomic<std::int64_t>& us) noexcept {
    std::int64_t v = us.load(std::memory_order_relaxed);
    if (v <= 0) return std::nullopt;
    return static_cast<double>(v) / 1e6;
  }
  std::atomic<FdKind> kind_{FdKind::none};
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<bool> user_nonblock_{false};
  std::atomic<bool> drained_{false};
  std::atomic<std::int64_t> recv_timeout_us_{0};
  std::atomic<std::int64_t> send_timeout_us_{0};
};

// The entry for `fd`, or nullptr when fd is negative or was never managed (no allocation).
FdEntry* find_fd(int fd) noexcept;
// The entry for `fd`, growing the table as needed; nullptr only for a negative fd or when
// memory runs out.
FdEntry* fd_entry(int fd) noexcept;
// find_fd(fd) if it is managed, else nullptr: the one check every I/O hook makes.
inline FdEntry* managed_fd(int fd) noexcept {
  FdEntry* e = find_fd(fd);
  return e != nullptr && e->managed() ? e : nullptr;
}

// Registers a descriptor a hooked call just created, already non-blocking underneath.
void manage_fd(int fd, FdKind kind, bool user_nonblock) noexcept;
// Before the real close/dup2 target replacement: forget `fd` and wake its waiters.
void forget_fd(int fd) noexcept;
// close_range: forget every managed descriptor in [first, last].
void forget_fd_range(unsigned first, unsigned last) noexcept;
// The poll hooks' watcher left started on `fd` by this thread (poll.cpp): stopped before
// `fd` is closed or replaced.
void drop_parked_watcher(int fd) noexcept;
// After a successful dup: `to` describes the same open file as `from`.
void copy_fd(int from, int to) noexcept;

// What a cooperative wait on a descriptor ended with.
enum class WaitResult { ready, timed_out, closed, interrupted, failed /* no memory */ };
enum class WaitFor { read, write };

// Waits in the calling greenlet until `fd` is readable/writable, `timeout` passes, another
// greenlet closes it, or a kill/Timeout arrives (then kept with detail::defer_exception:
// `timeout_error` tells a green::Timeout from a kill). A kill already pending does not end
// the wait at once: a C retry loop would spin on EINTR; it waits and the kill stays kept
// for the next green:: call. Never throws.
WaitResult wait_fd(GreenletBase& self, int fd, WaitFor what, std::optional<double> timeout,
                   bool* timeout_error = nullptr) noexcept;

// Outside a greenlet: blocks the thread with the real poll until `fd` is ready (0),
// `timeout` passes (EAGAIN) or a signal interrupts (EINTR).
int block_fd(int fd, WaitFor what, std::optional<double> timeout) noexcept;

double monotonic_now() noexcept;

}  // namespace green::patch
