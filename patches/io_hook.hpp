// The one shape of every hooked read/write-like call on a descriptor.
//
//   unmanaged fd, or the program asked for O_NONBLOCK      -> the real call, unchanged
//   managed fd, real call would block (EAGAIN underneath)  -> wait, then try again:
//       in a greenlet: cooperatively (wait_fd), everywhere else: the real poll
//   SO_RCVTIMEO/SO_SNDTIMEO pass                           -> -1, EAGAIN
//   another greenlet closes the fd                         -> -1, EBADF
//   kill                                                   -> -1, EINTR (raised later)
//   green::Timeout                                         -> -1, EAGAIN (raised later)
//
// errno is set last, after any switch (it belongs to the OS thread, not the greenlet).
#pragma once

#include <errno.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <algorithm>

#include "config.hpp"
#include "fd_table.hpp"

namespace green::patch {

// What a readv/recvmsg asks for: the sum of its buffers.
std::size_t iov_bytes(const iovec* iov, int count) noexcept;

inline std::optional<double> timeout_for(const FdEntry& e, WaitFor what) noexcept {
  return what == WaitFor::read ? e.recv_timeout() : e.send_timeout();
}

// Waits once for `fd`; 0 to try again, or the errno the call fails with.
// `timeout_errno` reports an expired SO_RCVTIMEO/SO_SNDTIMEO, `green_timeout_errno` a
// green::Timeout that fired during the wait.
inline int wait_again(GreenletBase* self, int fd, WaitFor what, std::optional<double> timeout,
                      double deadline, int timeout_errno = EAGAIN, int green_timeout_errno = EAGAIN) noexcept {
  std::optional<double> left;
  if (timeout) left = std::max(0.0, deadline - monotonic_now());
  if (self == nullptr) {
    int err = block_fd(fd, what, left);
    return err == EAGAIN ? timeout_errno : err;
  }
  bool timeout_error = false;
  switch (wait_fd(*self, fd, what, left, &timeout_error)) {
    case WaitResult::ready: return 0;
    case WaitResult::timed_out: return timeout_errno;
    case WaitResult::closed: return EBADF;
    case WaitResult::failed: return ENOMEM;
    case WaitResult::interrupted: return timeout_error ? green_timeout_errno : EINTR;
  }
  return EINTR;
}

// `requested`: the bytes a read asked for (0 for writes), to learn whether it drained the
// kernel buffer (FdEntry::drained). A read of 0 bytes never waits first: the kernel
// answers it at once (read() returns 0 even with nothing queued).
template <class Op>
ssize_t cooperative_io(int fd, WaitFor what, Op&& op, std::size_t requested = 0) noexcept {
  FdEntry* e = managed_fd(fd);
  if (e == nullptr || e->user_nonblock()) return op();
  GreenletBase* self = cooperative(Family::socket);
  const std::optional<double> timeout = timeout_for(*e, what);
  const double deadline = timeout ? monotonic_now() + *timeout : 0;
  const bool reading = what == WaitFor::read;
  if (reading && self != nullptr && requested > 0 && e->drained()) {
    e->set_drained(false);
    if (int err = wait_again(self, fd, what, timeout, deadline)) {
      errno = err;
      return -1;
    }
  }
  for (;;) {
    ssize_t r = op();
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      if (reading) e->set_drained(r > 0 && static_cast<std::size_t>(r) < requested && e->stream());
      return r;
    }
    if (int err = wait_again(self, fd, what, timeout, deadline)) {
      errno = err;
      return -1;
    }
  }
}

// MSG_WAITALL on a blocking socket waits for the whole buffer (or EOF, or an error); on the
// non-blocking descriptor underneath it returns what is there: keep reading.
template <class Op>
ssize_t cooperative_read_all(int fd, std::size_t total, Op&& op) noexcept {
  FdEntry* e = managed_fd(fd);
  if (e == nullptr || e->user_nonblock()) return op(std::size_t{0});
  std::size_t done = 0;
  for (;;) {
    ssize_t r = cooperative_io(fd, WaitFor::read, [&] { return op(done); }, total - done);
    if (r < 0) return done == 0 ? -1 : static_cast<ssize_t>(done);
    done += static_cast<std::size_t>(r);
    if (done >= total || r == 0) return static_cast<ssize_t>(done);
  }
}

// A blocking write on a stream writes everything unless interrupted: keep writing what
// the non-blocking call left, and report the bytes written if a later wait fails.
template <class Op>
ssize_t cooperative_write_all(int fd, std::size_t total, Op&& op) noexcept {
  FdEntry* e = managed_fd(fd);
  if (e == nullptr || e->user_nonblock()) return op(std::size_t{0});
  std::size_t done = 0;
  for (;;) {
    ssize_t r = cooperative_io(fd, WaitFor::write, [&] { return op(done); });
    if (r < 0) {
      if (done == 0) return -1;
      return static_cast<ssize_t>(done);
    }
    done += static_cast<std::size_t>(r);
    if (done >= total || r == 0) return static_cast<ssize_t>(done);
  }
}

}  // namespace green::patch
