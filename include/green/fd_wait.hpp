// green/fd_wait.hpp: wait until a file descriptor is readable or writable (gevent.socket's
// wait_read / wait_write / cancel_wait).
//
// A wait suspends only the calling greenlet: it arms an ev_io (the fd's own, below, or one
// in the waiting greenlet's frame) and blocks on a Waiter; nothing is allocated per wait. The readiness
// is level-triggered: "ready" means a read (write) would not block *now*; another greenlet
// may still take the data first, so callers retry on EAGAIN.
//
// Every wait is also entered in a process-wide table indexed by fd, so that:
// - cancel_wait(fd, error) wakes every greenlet waiting on fd, on any OS thread, with
//   `error` (gevent's cancel_wait). Close a descriptor others may wait on through a Socket,
//   or call cancel_wait (or fd_closing) before ::close: a waiter is never left asleep on a
//   descriptor that is gone.
// - an exclusive wait (wait_read, wait_write, every Socket operation) refuses to start
//   while another greenlet waits in the same direction on the same fd, and says who:
//   two greenlets reading one socket at once interleave its bytes arbitrarily.
//   Shared waits (wait_fd with exclusive = false: what a C program's threads blocked in
//   accept() on one listening socket need) may overlap; all of them are woken.
//
// Two forms: wait_read / wait_write throw (for C++ code); wait_fd / wait_fd_noexcept
// report every outcome as a WaitResult (for the patch layer, which must never throw
// through C frames). Both honour an enclosing green::Timeout and kill().
//
// The cost of a wait: libev re-registers a descriptor with the kernel (one epoll_ctl,
// ~1 us here) whenever it cannot know that the fd number still names the same file.
// Descriptors whose whole life goes through green (fd_opened ... fd_closing: Socket does
// this, the patch layer's hooks too) are registered once per hub instead, and their watcher
// stays started between waits on the same hub (parked, keeping no hub from LoopExit), so
// that waiting again on a socket costs no ev_io_start / ev_io_stop.
#pragma once

#include <cerrno>
#include <cstddef>
#include <optional>

namespace green {

// Directions, as a bit mask (the values of libev's EV_READ / EV_WRITE).
inline constexpr int kReadable = 1;
inline constexpr int kWritable = 2;

enum class WaitResult : int {
  ready,        // the fd is ready in at least one requested direction (see revents)
  timed_out,    // `timeout` seconds passed first
  cancelled,    // cancel_wait() woke the wait; `error` holds the errno it gave (EBADF...)
  busy,         // exclusive wait refused: another greenlet already waits in that direction
  interrupted,  // wait_fd_noexcept only: a kill or Timeout arrived and was deferred
};

struct WaitStatus {
  WaitResult result;
  int revents = 0;  // ready: the kReadable/kWritable bits that were ready
  int error = 0;    // cancelled: cancel_wait's errno; busy: EBUSY
};

// Waits until `fd` is readable (writable). Returns true when it is, false when `timeout`
// seconds passed first. Throws std::system_error (the errno cancel_wait gave, EBADF by
// default) when the wait was cancelled, std::logic_error when another greenlet already
// waits to read (write) `fd`, std::invalid_argument for a negative fd or timeout, and
// whatever a kill or Timeout throws.
bool wait_read(int fd, std::optional<double> timeout = {});
bool wait_write(int fd, std::optional<double> timeout = {});

// Waits for any of `events` (kReadable | kWritable) on `fd`. Throws only what a kill or
// Timeout throws, std::logic_error when called from the hub, and std::invalid_argument
// for bad arguments; every other outcome is in the result.
WaitStatus wait_fd(int fd, int events, std::optional<double> timeout, bool exclusive = false);

// As wait_fd, but throws nothing: a kill or Timeout that arrives during the wait (or is
// already pending) is kept for the greenlet's next blocking call (detail::defer_exception)
// and the result is `interrupted`. Outside a greenlet that may block, or with bad
// arguments, the result is `cancelled` with EINVAL.
WaitStatus wait_fd_noexcept(int fd, int events, std::optional<double> timeout, bool exclusive = false) noexcept;

// Wakes every greenlet waiting on `fd` (any direction, any OS thread) with `error`.
// Returns how many were woken. Safe from any thread; never blocks.
std::size_t cancel_wait(int fd, int error = EBADF) noexcept;

// The life of a descriptor that green manages from creation to close. After
// fd_opened(fd), until fd_closing(fd), the caller promises that `fd` names the same open
// file: waits then skip libev's re-registration (an epoll_ctl) after the first one on each
// hub. fd_closing(fd) wakes the waiters with `error` (as cancel_wait) and forgets the
// promise; call it before the fd is closed. Without fd_opened, every wait re-registers.
void fd_opened(int fd) noexcept;
std::size_t fd_closing(int fd, int error = EBADF) noexcept;

}  // namespace green
