// The socket family: socket, socketpair, connect, accept, accept4, the read/recv and
// write/send calls (with Debian's _FORTIFY_SOURCE names, recvmmsg and sendmmsg), sendfile
// and SO_RCVTIMEO / SO_SNDTIMEO. Sockets and pipes made through these hooks are non-blocking underneath; a
// call the program made blocking waits cooperatively in a greenlet (io_hook.hpp) and
// blocks the thread as before everywhere else. Regular files and descriptors the program
// inherited pass straight through.
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.hpp"
#include "fd_table.hpp"
#include "io_hook.hpp"
#include "real.hpp"

using green::patch::Config;
using green::patch::cooperative_io;
using green::patch::cooperative_write_all;
using green::patch::Family;
using green::patch::FdKind;
using green::patch::WaitFor;

namespace green::patch {
namespace {

bool sockets_patched() noexcept { return Config::get().patched(Family::socket); }

FdKind socket_kind(int type) noexcept {
  return (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM ? FdKind::socket : FdKind::datagram;
}

}  // namespace

std::size_t iov_bytes(const iovec* iov, int count) noexcept {
  std::size_t total = 0;
  for (int i = 0; iov != nullptr && i < count; ++i) total += iov[i].iov_len;
  return total;
}

namespace {

FdKind fd_kind_of(int fd) noexcept {
  FdEntry* e = managed_fd(fd);
  return e != nullptr ? e->kind() : FdKind::socket;
}

int accept_impl(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  if (!sockets_patched() || managed_fd(fd) == nullptr) return GREEN_REAL(accept4)(fd, addr, len, flags);
  ssize_t r = cooperative_io(fd, WaitFor::read, [&] {
    return static_cast<ssize_t>(GREEN_REAL(accept4)(fd, addr, len, flags | SOCK_NONBLOCK));
  });
  // accept: a stream (or SOCK_SEQPACKET) listener; only streams count as streams here.
  if (r >= 0) manage_fd(static_cast<int>(r), fd_kind_of(fd), (flags & SOCK_NONBLOCK) != 0);
  return static_cast<int>(r);
}

}  // namespace
}  // namespace green::patch

extern "C" {

// glibc's report for a _FORTIFY_SOURCE overflow ("*** buffer overflow detected ***").
[[noreturn]] void __chk_fail(void);

int socket(int domain, int type, int protocol) {
  if (!green::patch::sockets_patched()) return GREEN_REAL(socket)(domain, type, protocol);
  int fd = GREEN_REAL(socket)(domain, type | SOCK_NONBLOCK, protocol);
  if (fd >= 0) green::patch::manage_fd(fd, green::patch::socket_kind(type), (type & SOCK_NONBLOCK) != 0);
  return fd;
}

int socketpair(int domain, int type, int protocol, int sv[2]) {
  if (!green::patch::sockets_patched()) return GREEN_REAL(socketpair)(domain, type, protocol, sv);
  int r = GREEN_REAL(socketpair)(domain, type | SOCK_NONBLOCK, protocol, sv);
  if (r == 0) {
    green::patch::manage_fd(sv[0], green::patch::socket_kind(type), (type & SOCK_NONBLOCK) != 0);
    green::patch::manage_fd(sv[1], green::patch::socket_kind(type), (type & SOCK_NONBLOCK) != 0);
  }
  return r;
}

// Blocking connect: wait for the handshake, then report SO_ERROR. SO_SNDTIMEO expiring
// gives EINPROGRESS (Linux's contract), a green::Timeout ETIMEDOUT, a kill EINTR; in each
// case the connection goes on in the background as after a signal.
int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  using namespace green::patch;
  FdEntry* e = managed_fd(fd);
  if (e == nullptr || e->user_nonblock()) return GREEN_REAL(connect)(fd, addr, len);
  green::GreenletBase* self = cooperative(Family::socket);
  const std::optional<double> timeout = e->send_timeout();
  const double deadline = timeout ? monotonic_now() + *timeout : 0;
  for (;;) {
    int r = GREEN_REAL(connect)(fd, addr, len);
    if (r == 0) return 0;
    const int err = errno;
    if (err != EINPROGRESS && err != EAGAIN) return -1;  // EAGAIN: a full AF_UNIX backlog, try again
    if (int wait_err = wait_again(self, fd, WaitFor::write, timeout, deadline, EINPROGRESS, ETIMEDOUT)) {
      errno = wait_err;
      return -1;
    }
    if (err == EAGAIN) continue;
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) return -1;
    if (so_error == 0) return 0;
    errno = so_error;
    return -1;
  }
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) { return green::patch::accept_impl(fd, addr, len, 0); }

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  return green::patch::accept_impl(fd, addr, len, flags);
}

ssize_t read(int fd, void* buf, size_t n) {
  return cooperative_io(fd, WaitFor::read, [&] { return GREEN_REAL(read)(fd, buf, n); }, n);
}

ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

ssize_t readv(int fd, const struct iovec* iov, int count) {
  return cooperative_io(fd, WaitFor::read, [&] { return GREEN_REAL(readv)(fd, iov, count); },
                        green::patch::iov_bytes(iov, count));
}

ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(recv)(fd, buf, n, flags);
  if (flags & MSG_WAITALL)
    return green::patch::cooperative_read_all(fd, n, [&](size_t done) {
      return GREEN_REAL(recv)(fd, static_cast<char*>(buf) + done, n - done, flags);
    });
  return cooperative_io(fd, WaitFor::read, [&] { return GREEN_REAL(recv)(fd, buf, n, flags); }, n);
}

ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr, socklen_t* len) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(recvfrom)(fd, buf, n, flags, addr, len);
  if (flags & MSG_WAITALL)
    return green::patch::cooperative_read_all(fd, n, [&](size_t done) {
      return GREEN_REAL(recvfrom)(fd, static_cast<char*>(buf) + done, n - done, flags, addr, len);
    });
  return cooperative_io(fd, WaitFor::read, [&] { return GREEN_REAL(recvfrom)(fd, buf, n, flags, addr, len); }, n);
}

ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags, struct sockaddr* addr,
                       socklen_t* len) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, addr, len);
}

ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(recvmsg)(fd, msg, flags);
  return cooperative_io(fd, WaitFor::read, [&] { return GREEN_REAL(recvmsg)(fd, msg, flags); },
                        msg != nullptr ? green::patch::iov_bytes(msg->msg_iov, static_cast<int>(msg->msg_iovlen)) : 0);
}

int recvmmsg(int fd, struct mmsghdr* msgs, unsigned int n, int flags, struct timespec* timeout) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(recvmmsg)(fd, msgs, n, flags, timeout);
  return static_cast<int>(cooperative_io(fd, WaitFor::read, [&] {
    return static_cast<ssize_t>(GREEN_REAL(recvmmsg)(fd, msgs, n, flags, timeout));
  }));
}

ssize_t write(int fd, const void* buf, size_t n) {
  return cooperative_write_all(fd, n, [&](size_t done) {
    return GREEN_REAL(write)(fd, static_cast<const char*>(buf) + done, n - done);
  });
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  return cooperative_io(fd, WaitFor::write, [&] { return GREEN_REAL(writev)(fd, iov, count); });
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(send)(fd, buf, n, flags);
  return cooperative_write_all(fd, n, [&](size_t done) {
    return GREEN_REAL(send)(fd, static_cast<const char*>(buf) + done, n - done, flags);
  });
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* addr, socklen_t len) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(sendto)(fd, buf, n, flags, addr, len);
  return cooperative_write_all(fd, n, [&](size_t done) {
    return GREEN_REAL(sendto)(fd, static_cast<const char*>(buf) + done, n - done, flags, addr, len);
  });
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(sendmsg)(fd, msg, flags);
  return cooperative_io(fd, WaitFor::write, [&] { return GREEN_REAL(sendmsg)(fd, msg, flags); });
}

int sendmmsg(int fd, struct mmsghdr* msgs, unsigned int n, int flags) {
  if (flags & MSG_DONTWAIT) return GREEN_REAL(sendmmsg)(fd, msgs, n, flags);
  return static_cast<int>(cooperative_io(fd, WaitFor::write, [&] {
    return static_cast<ssize_t>(GREEN_REAL(sendmmsg)(fd, msgs, n, flags));
  }));
}

ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
  return cooperative_io(out, WaitFor::write, [&] { return GREEN_REAL(sendfile)(out, in, offset, count); });
}

ssize_t sendfile64(int out, int in, off64_t* offset, size_t count) {
  return cooperative_io(out, WaitFor::write, [&] { return GREEN_REAL(sendfile64)(out, in, offset, count); });
}

// The kernel keeps the value too (getsockopt reports it unhooked), but ignores it on a
// non-blocking socket: the table honours it.
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  int r = GREEN_REAL(setsockopt)(fd, level, name, value, len);
  if (r != 0 || level != SOL_SOCKET || (name != SO_RCVTIMEO && name != SO_SNDTIMEO) ||
      len < static_cast<socklen_t>(sizeof(timeval)))
    return r;
  if (green::patch::FdEntry* e = green::patch::managed_fd(fd)) {
    const auto* tv = static_cast<const timeval*>(value);
    const std::int64_t us = static_cast<std::int64_t>(tv->tv_sec) * 1'000'000 + tv->tv_usec;
    if (name == SO_RCVTIMEO)
      green::patch::set_recv_timeout(*e, us);
    else
      green::patch::set_send_timeout(*e, us);
  }
  return r;
}

}  // extern "C"
