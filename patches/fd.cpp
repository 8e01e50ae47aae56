// The descriptor family: close, close_range, dup, dup2, dup3, fcntl (and glibc's fcntl64), ioctl
// FIONBIO, pipe, pipe2, fdopen. They keep the fd table (fd_table.hpp) true: every fcntl command
// still reaches the real fcntl; F_SETFL and FIONBIO record the program's O_NONBLOCK while
// the descriptor stays non-blocking underneath, and F_GETFL reports the program's view.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "config.hpp"
#include "fd_table.hpp"
#include "real.hpp"

namespace green::patch {
namespace {

// A standard stream is never cooperative (stdio's FILE lock is per OS thread, so a yield
// inside fwrite would let another greenlet into the same FILE) and a child inherits it:
// a managed descriptor copied onto 0, 1 or 2 becomes blocking again. The source shares
// the open file description, so it turns blocking too; it stays correct, only no longer
// cooperative.
void after_copy(int from, int to) noexcept {
  if (to > 2) {
    copy_fd(from, to);
    return;
  }
  forget_fd(to);
  if (FdEntry* source = managed_fd(from); source != nullptr && !source->user_nonblock()) {
    int flags = GREEN_REAL(fcntl)(to, F_GETFL);
    if (flags >= 0) GREEN_REAL(fcntl)(to, F_SETFL, flags & ~O_NONBLOCK);
  }
}

// The real flags the last F_GETFL on this thread read from a managed descriptor, valid
// until this thread's next fcntl or ioctl and while the number names the same file. The
// usual way to make a socket non-blocking, `fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) |
// O_NONBLOCK)`, then writes back exactly what the kernel holds (the descriptor is
// non-blocking underneath already), and that second syscall is skipped. Another thread or
// process changing the flags in between is indistinguishable from its change landing just
// after ours.
struct LastGetfl {
  int fd = -1;
  std::uint32_t generation = 0;
  int real_flags = 0;
};
constinit thread_local LastGetfl last_getfl;

template <class Real>
int fcntl_impl(Real real, int fd, int cmd, void* arg) noexcept {
  const LastGetfl last = last_getfl;
  last_getfl.fd = -1;
  switch (cmd) {
    case F_GETFL: {
      int flags = real(fd, cmd);
      FdEntry* e = managed_fd(fd);
      if (flags >= 0 && e != nullptr) last_getfl = {fd, e->generation(), flags};
      if (flags >= 0 && e != nullptr && !e->user_nonblock()) flags &= ~O_NONBLOCK;
      return flags;
    }
    case F_SETFL: {
      FdEntry* e = managed_fd(fd);
      const int flags = static_cast<int>(reinterpret_cast<long>(arg));
      if (e == nullptr) return real(fd, cmd, flags);
      const bool unchanged =
          last.fd == fd && last.generation == e->generation() && last.real_flags == (flags | O_NONBLOCK);
      int r = unchanged ? 0 : real(fd, cmd, flags | O_NONBLOCK);
      if (r == 0) e->set_user_nonblock((flags & O_NONBLOCK) != 0);
      return r;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int r = real(fd, cmd, static_cast<int>(reinterpret_cast<long>(arg)));
      if (r >= 0) copy_fd(fd, r);
      return r;
    }
    default:
      // glibc's own fcntl passes the third argument on as a pointer whatever its type.
      return real(fd, cmd, arg);
  }
}

}  // namespace
}  // namespace green::patch

using green::patch::FdKind;

extern "C" {

int close(int fd) {
  // Forget first: once the real close returns, another thread may get the same number.
  green::patch::forget_fd(fd);
  return GREEN_REAL(close)(fd);
}

int close_range(unsigned int first, unsigned int last, int flags) {
  if (!(flags & CLOSE_RANGE_CLOEXEC)) green::patch::forget_fd_range(first, last);
  return GREEN_REAL(close_range)(first, last, flags);
}

int dup(int fd) {
  int r = GREEN_REAL(dup)(fd);
  if (r >= 0) green::patch::copy_fd(fd, r);
  return r;
}

int dup2(int from, int to) {
  int r = GREEN_REAL(dup2)(from, to);
  if (r >= 0 && from != to) {
    // `to` was closed by dup2: its waiters get EBADF (forget_fd inside).
    green::patch::forget_fd(to);
    green::patch::after_copy(from, to);
  }
  return r;
}

int dup3(int from, int to, int flags) {
  int r = GREEN_REAL(dup3)(from, to, flags);
  if (r >= 0) {
    green::patch::forget_fd(to);
    green::patch::after_copy(from, to);
  }
  return r;
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return green::patch::fcntl_impl(GREEN_REAL(fcntl), fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return green::patch::fcntl_impl(GREEN_REAL(fcntl64), fd, cmd, arg);
}

int ioctl(int fd, unsigned long request, ...) {
  green::patch::last_getfl.fd = -1;  // FIOASYNC changes the status flags too
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (request == FIONBIO && arg != nullptr) {
    if (green::patch::FdEntry* e = green::patch::managed_fd(fd)) {
      const bool on = *static_cast<const int*>(arg) != 0;
      int one = 1;
      int r = GREEN_REAL(ioctl)(fd, request, &one);
      if (r == 0) e->set_user_nonblock(on);
      return r;
    }
  }
  return GREEN_REAL(ioctl)(fd, request, arg);
}

int pipe2(int fds[2], int flags) {
  if (!green::patch::Config::get().patched(green::patch::Family::socket)) return GREEN_REAL(pipe2)(fds, flags);
  int r = GREEN_REAL(pipe2)(fds, flags | O_NONBLOCK);
  if (r == 0) {
    green::patch::manage_fd(fds[0], FdKind::pipe, (flags & O_NONBLOCK) != 0);
    green::patch::manage_fd(fds[1], FdKind::pipe, (flags & O_NONBLOCK) != 0);
  }
  return r;
}

int pipe(int fds[2]) { return pipe2(fds, 0); }

// stdio reads and writes through libc's internal calls, which no hook sees: a FILE over a
// managed descriptor would meet EAGAIN from the non-blocking descriptor underneath. The
// descriptor goes back to blocking and leaves the table (stdio is never cooperative; see
// after_copy for what that means for copies of it).
FILE* fdopen(int fd, const char* mode) {
  if (green::patch::FdEntry* e = green::patch::managed_fd(fd); e != nullptr && !e->user_nonblock()) {
    int flags = GREEN_REAL(fcntl)(fd, F_GETFL);
    if (flags >= 0) GREEN_REAL(fcntl)(fd, F_SETFL, flags & ~O_NONBLOCK);
    green::patch::forget_fd(fd);
  }
  return GREEN_REAL(fdopen)(fd, mode);
}

}  // extern "C"
