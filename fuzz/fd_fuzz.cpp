// fd_fuzz: the patch layer's descriptor table (patches/fd.cpp, socket.cpp, fd_table.cpp),
// driven through the hooked libc calls by a greenlet on a hub, checked against a model.
//
// The input is a program of up to kMaxSteps calls: pipe, pipe2, socketpair (stream and
// datagram), socket, dup, dup2, dup3, fcntl (F_GETFL, F_SETFL O_NONBLOCK, F_DUPFD,
// F_DUPFD_CLOEXEC), ioctl FIONBIO, setsockopt SO_RCVTIMEO, shutdown, close, close_range,
// read and write, on open and on closed descriptors. The model is the kernel's: descriptors
// point at open file descriptions, which dup shares, and O_NONBLOCK and socket options
// belong to the description; close-on-exec belongs to the descriptor. After every call:
//   - each call returned what the model says (result, errno, the bytes read);
//   - every open descriptor is open, non-blocking underneath (the patch layer's own mode,
//     read with the raw syscall), and shows through the hooked F_GETFL exactly the
//     O_NONBLOCK the program set; close-on-exec is as set;
//   - every descriptor the program closed is closed (EBADF for every call on it).
// Reads that would block run with a second greenlet that makes them return: one that
// writes to the other end (the read gets those bytes), one that closes the descriptor
// (the read fails with EBADF), or, with SO_RCVTIMEO set, none (EAGAIN once it passes; a
// rescue greenlet writes after 2 s so that a read that ignores it fails the check instead
// of hanging). Writes stay far below the pipe and socket buffers, so none blocks.
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fuzzer/FuzzedDataProvider.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "check.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"

namespace {

constexpr int kHigh = 900;  // dup2/dup3/F_DUPFD/close_range work on [kHigh, kHigh + kHighCount)
constexpr int kHighCount = 24;
constexpr int kMaxSteps = 48;
constexpr std::size_t kMaxBuffered = 4096;  // per description; pipes and sockets hold far more
constexpr std::size_t kMaxDatagrams = 6;    // net.unix.max_dgram_qlen is 10 by default

enum class Kind { pipe_read, pipe_write, stream, dgram, unconnected };
const char* kKindNames[] = {"pipe read end", "pipe write end", "stream socket", "datagram socket",
                            "unconnected socket"};

// An open file description.
struct Ofd {
  Kind kind = Kind::unconnected;
  int peer = -1;          // the description at the other end
  bool nonblock = false;  // O_NONBLOCK as the program set it
  int refs = 0;           // descriptors pointing here
  std::string inbox;      // stream and pipe: bytes readable here
  std::deque<std::string> messages;  // datagram: messages readable here
  bool shut_wr = false;   // shutdown(SHUT_WR) on this socket
  bool reset = false;     // stream: the peer went away with data unread: ECONNRESET once
  long rcvtimeo_us = 0;   // SO_RCVTIMEO (socket option: shared by every dup)
};

struct Fd {
  int ofd;
  bool cloexec;
};

// FD_FUZZ_TRACE=1 prints each call: how to read a crash input (fuzz/README.md).
const bool kTrace = std::getenv("FD_FUZZ_TRACE") != nullptr;
#define TRACE(...)                         \
  do {                                     \
    if (kTrace) {                          \
      std::fprintf(stderr, __VA_ARGS__);   \
      std::fprintf(stderr, "\n");          \
    }                                      \
  } while (0)

int raw_fcntl(int fd, int cmd) { return static_cast<int>(::syscall(SYS_fcntl, fd, cmd, 0)); }

class Model {
 public:
  std::vector<Ofd> ofds;
  std::map<int, Fd> fds;  // open descriptors, by number
  std::set<int> touched;  // every number the program was given

  int add_ofd(Kind kind, bool nonblock) {
    Ofd o;
    o.kind = kind;
    o.nonblock = nonblock;
    ofds.push_back(std::move(o));
    return static_cast<int>(ofds.size()) - 1;
  }
  void open_fd(int fd, int ofd, bool cloexec, const char* call) {
    FUZZ_CHECK(fd >= 0, "%s returned %d (errno %d)", call, fd, errno);
    FUZZ_CHECK(!fds.contains(fd), "%s returned %d, which is open", call, fd);
    TRACE("  %s -> fd %d (description %d%s)", call, fd, ofd, cloexec ? ", cloexec" : "");
    fds[fd] = Fd{ofd, cloexec};
    ++ofds[ofd].refs;
    touched.insert(fd);
  }
  void close_fd(int fd) {
    auto it = fds.find(fd);
    if (it == fds.end()) return;
    Ofd& o = ofds[it->second.ofd];
    fds.erase(it);
    // A stream socket closed with bytes unread resets its peer (Linux's AF_UNIX): the
    // peer's next read that finds nothing queued fails with ECONNRESET, once.
    if (--o.refs == 0 && o.kind == Kind::stream && !o.inbox.empty() && peer_alive(o)) ofds[o.peer].reset = true;
  }
  Ofd& of(int fd) { return ofds[fds.at(fd).ofd]; }
  bool peer_alive(const Ofd& o) const { return o.peer >= 0 && ofds[o.peer].refs > 0; }
  // Some open descriptor of description `ofd`, or -1.
  int fd_of(int ofd) const {
    for (const auto& [fd, f] : fds)
      if (f.ofd == ofd) return fd;
    return -1;
  }
  // What a read finds with nothing queued: 0 at end of file, else it would block.
  bool at_eof(const Ofd& o) const {
    if (o.kind == Kind::pipe_read) return !peer_alive(o);
    if (o.kind == Kind::stream) return !peer_alive(o) || ofds[o.peer].shut_wr;
    return false;  // a datagram socket has no end of file
  }
  bool has_data(const Ofd& o) const { return o.kind == Kind::dgram ? !o.messages.empty() : !o.inbox.empty(); }
  // Would a read of n bytes wait in blocking mode? read() of 0 bytes returns 0 at once on
  // a pipe or socket; recv() of 0 bytes waits like any other.
  bool would_block(const Ofd& o, std::size_t n, bool recv) const {
    return !has_data(o) && !at_eof(o) && (n > 0 || recv);
  }
  bool readable_kind(const Ofd& o) const {
    return o.kind == Kind::pipe_read || o.kind == Kind::stream || o.kind == Kind::dgram;
  }
};

struct Run {
  explicit Run(FuzzedDataProvider& data) : in(data) {}
  FuzzedDataProvider& in;
  Model m;

  // An open descriptor (or, with `closed`, one the program closed), or -1 for none.
  int pick(bool closed = false) {
    std::vector<int> choice;
    if (closed) {
      for (int fd : m.touched)
        if (!m.fds.contains(fd)) choice.push_back(fd);
    } else {
      for (const auto& [fd, f] : m.fds) choice.push_back(fd);
    }
    if (choice.empty()) return -1;
    return choice[in.ConsumeIntegralInRange<std::size_t>(0, choice.size() - 1)];
  }
  int high() { return kHigh + in.ConsumeIntegralInRange<int>(0, kHighCount - 1); }
  std::string bytes(std::size_t max) {
    const auto n = in.ConsumeIntegralInRange<std::size_t>(1, max);
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (m.touched.size() + i + s.size()) % 26);
    return s + std::to_string(in.ConsumeIntegral<unsigned char>());
  }

  static void expect_error(long r, int want, const char* call, int fd) {
    const int err = errno;
    FUZZ_CHECK(r == -1 && err == want, "%s on fd %d: returned %ld errno %d (%s), expected errno %d (%s)", call, fd,
               r, r == -1 ? err : 0, r == -1 ? std::strerror(err) : "-", want, std::strerror(want));
  }

  void check_all(const char* after) {
    for (const auto& [fd, f] : m.fds) {
      const Ofd& o = m.ofds[f.ofd];
      const int raw = raw_fcntl(fd, F_GETFL);
      FUZZ_CHECK(raw >= 0, "after %s: fd %d (%s) is not open", after, fd, kKindNames[int(o.kind)]);
      FUZZ_CHECK(raw & O_NONBLOCK, "after %s: fd %d (%s) is blocking underneath", after, fd,
                 kKindNames[int(o.kind)]);
      const int shown = ::fcntl(fd, F_GETFL);
      FUZZ_CHECK(shown >= 0, "after %s: F_GETFL on fd %d failed (errno %d)", after, fd, errno);
      FUZZ_CHECK(((shown & O_NONBLOCK) != 0) == o.nonblock, "after %s: F_GETFL on fd %d (%s) shows O_NONBLOCK %d, set %d",
                 after, fd, kKindNames[int(o.kind)], (shown & O_NONBLOCK) != 0, o.nonblock);
      FUZZ_CHECK((shown & ~O_NONBLOCK) == (raw & ~O_NONBLOCK), "after %s: F_GETFL on fd %d changes other flags",
                 after, fd);
      const int fdflags = ::fcntl(fd, F_GETFD);
      FUZZ_CHECK(((fdflags & FD_CLOEXEC) != 0) == f.cloexec, "after %s: fd %d close-on-exec %d, expected %d", after,
                 fd, (fdflags & FD_CLOEXEC) != 0, f.cloexec);
    }
    for (int fd : m.touched)
      if (!m.fds.contains(fd))
        FUZZ_CHECK(raw_fcntl(fd, F_GETFD) == -1 && errno == EBADF, "after %s: closed fd %d is open", after, fd);
  }

  // --- calls that make descriptors ---
  void make_pipe() {
    int p[2];
    const bool nonblock = in.ConsumeBool(), cloexec = in.ConsumeBool();
    const int flags = (nonblock ? O_NONBLOCK : 0) | (cloexec ? O_CLOEXEC : 0);
    const int r = flags == 0 && in.ConsumeBool() ? ::pipe(p) : ::pipe2(p, flags);
    FUZZ_CHECK(r == 0, "pipe2 failed: errno %d", errno);
    const int rd = m.add_ofd(Kind::pipe_read, nonblock), wr = m.add_ofd(Kind::pipe_write, nonblock);
    m.ofds[rd].peer = wr;
    m.ofds[wr].peer = rd;
    m.open_fd(p[0], rd, cloexec, "pipe");
    m.open_fd(p[1], wr, cloexec, "pipe");
  }
  void make_socketpair(bool stream) {
    int sv[2];
    const bool nonblock = in.ConsumeBool(), cloexec = in.ConsumeBool();
    const int type = (stream ? SOCK_STREAM : SOCK_DGRAM) | (nonblock ? SOCK_NONBLOCK : 0) | (cloexec ? SOCK_CLOEXEC : 0);
    FUZZ_CHECK(::socketpair(AF_UNIX, type, 0, sv) == 0, "socketpair failed: errno %d", errno);
    const Kind kind = stream ? Kind::stream : Kind::dgram;
    const int a = m.add_ofd(kind, nonblock), b = m.add_ofd(kind, nonblock);
    m.ofds[a].peer = b;
    m.ofds[b].peer = a;
    m.open_fd(sv[0], a, cloexec, "socketpair");
    m.open_fd(sv[1], b, cloexec, "socketpair");
  }
  void make_socket() {
    const bool nonblock = in.ConsumeBool(), cloexec = in.ConsumeBool();
    const int domain = in.ConsumeBool() ? AF_UNIX : AF_INET;
    const int fd = ::socket(domain, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0) | (cloexec ? SOCK_CLOEXEC : 0), 0);
    m.open_fd(fd, m.add_ofd(Kind::unconnected, nonblock), cloexec, "socket");
  }

  // --- copies ---
  void do_dup() {
    const int fd = pick(in.ConsumeProbability<float>() < 0.1f);
    if (fd < 0) return;
    const int r = ::dup(fd);
    TRACE("dup(%d) = %d", fd, r);
    if (!m.fds.contains(fd)) return expect_error(r, EBADF, "dup", fd);
    m.open_fd(r, m.fds.at(fd).ofd, false, "dup");
  }
  void do_dup2(bool three) {
    const int from = pick(in.ConsumeProbability<float>() < 0.1f);
    if (from < 0) return;
    int to = in.ConsumeBool() ? high() : pick();
    if (to < 0) to = high();
    const bool cloexec = three && in.ConsumeBool();
    const int r = three ? ::dup3(from, to, cloexec ? O_CLOEXEC : 0) : ::dup2(from, to);
    const char* call = three ? "dup3" : "dup2";
    TRACE("%s(%d, %d) = %d", call, from, to, r);
    if (three && from == to) return expect_error(r, EINVAL, call, from);
    if (!m.fds.contains(from)) return expect_error(r, EBADF, call, from);
    if (from == to) {
      FUZZ_CHECK(r == to, "dup2(%d, %d) returned %d", from, to, r);
      return;
    }
    FUZZ_CHECK(r == to, "%s(%d, %d) returned %d errno %d", call, from, to, r, errno);
    const int ofd = m.fds.at(from).ofd;
    m.close_fd(to);
    m.open_fd(to, ofd, cloexec, call);
  }
  void do_dupfd() {
    const int fd = pick(in.ConsumeProbability<float>() < 0.1f);
    if (fd < 0) return;
    const bool cloexec = in.ConsumeBool();
    const int min = in.ConsumeBool() ? high() : 0;
    const int r = ::fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, min);
    TRACE("fcntl(%d, F_DUPFD%s, %d) = %d", fd, cloexec ? "_CLOEXEC" : "", min, r);
    if (!m.fds.contains(fd)) return expect_error(r, EBADF, "F_DUPFD", fd);
    FUZZ_CHECK(r >= min, "F_DUPFD(%d, %d) returned %d", fd, min, r);
    for (int n = min; n < r; ++n) FUZZ_CHECK(raw_fcntl(n, F_GETFD) >= 0, "F_DUPFD skipped free fd %d", n);
    m.open_fd(r, m.fds.at(fd).ofd, cloexec, "F_DUPFD");
  }

  // --- flags ---
  void do_getfl() {
    const int fd = pick(true);
    if (fd >= 0) expect_error(::fcntl(fd, F_GETFL), EBADF, "F_GETFL", fd);
  }
  void do_setfl(bool ioctl_call) {
    const int fd = pick(in.ConsumeProbability<float>() < 0.1f);
    if (fd < 0) return;
    const bool on = in.ConsumeBool();
    int r;
    if (ioctl_call) {
      int arg = on ? in.ConsumeIntegralInRange<int>(1, 3) : 0;
      r = ::ioctl(fd, FIONBIO, &arg);
    } else {
      const int flags = ::fcntl(fd, F_GETFL);
      r = ::fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
    }
    TRACE("%s(%d, O_NONBLOCK %d) = %d", ioctl_call ? "ioctl FIONBIO" : "fcntl F_SETFL", fd, on, r);
    if (!m.fds.contains(fd)) return expect_error(r, EBADF, ioctl_call ? "FIONBIO" : "F_SETFL", fd);
    FUZZ_CHECK(r == 0, "setting O_NONBLOCK %d on fd %d failed: errno %d", on, fd, errno);
    m.of(fd).nonblock = on;
  }
  void do_rcvtimeo() {
    const int fd = pick();
    if (fd < 0) return;
    Ofd& o = m.of(fd);
    if (o.kind != Kind::stream && o.kind != Kind::dgram) return;
    const long us = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<long>(100, 3000);
    timeval tv{0, us};
    FUZZ_CHECK(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "SO_RCVTIMEO on %d: errno %d", fd,
               errno);
    TRACE("setsockopt(%d, SO_RCVTIMEO, %ld us)", fd, us);
    o.rcvtimeo_us = us;
  }
  void do_shutdown() {
    const int fd = pick();
    if (fd < 0 || m.of(fd).kind != Kind::stream) return;
    FUZZ_CHECK(::shutdown(fd, SHUT_WR) == 0, "shutdown(%d, SHUT_WR): errno %d", fd, errno);
    TRACE("shutdown(%d, SHUT_WR)", fd);
    m.of(fd).shut_wr = true;
  }

  // --- closing ---
  void do_close() {
    const int fd = pick(in.ConsumeProbability<float>() < 0.1f);
    if (fd < 0) return;
    const int r = ::close(fd);
    TRACE("close(%d) = %d", fd, r);
    if (!m.fds.contains(fd)) return expect_error(r, EBADF, "close", fd);
    FUZZ_CHECK(r == 0, "close(%d): errno %d", fd, errno);
    m.close_fd(fd);
  }
  void do_close_range() {
    int a = high(), b = high();
    if (a > b) std::swap(a, b);
    TRACE("close_range(%d, %d)", a, b);
    FUZZ_CHECK(::close_range(a, b, 0) == 0, "close_range(%d, %d): errno %d", a, b, errno);
    for (int fd = a; fd <= b; ++fd) m.close_fd(fd);
  }

  // --- data ---
  void do_write() {
    const int fd = pick(in.ConsumeProbability<float>() < 0.05f);
    if (fd < 0) return;
    const std::string data = bytes(64);
    const ssize_t r = ::write(fd, data.data(), data.size());
    TRACE("write(%d, %zu) = %zd", fd, data.size(), r);
    if (!m.fds.contains(fd)) return expect_error(r, EBADF, "write", fd);
    Ofd& o = m.of(fd);
    switch (o.kind) {
      case Kind::pipe_read: return expect_error(r, EBADF, "write to a pipe's read end", fd);
      case Kind::unconnected:
        FUZZ_CHECK(r == -1 && errno != EAGAIN, "write to an unconnected socket %d: %zd errno %d", fd, r, errno);
        return;
      case Kind::pipe_write:
      case Kind::stream: {
        if (o.shut_wr || !m.peer_alive(o)) return expect_error(r, EPIPE, "write with no reader", fd);
        Ofd& peer = m.ofds[o.peer];
        FUZZ_CHECK(r == static_cast<ssize_t>(data.size()), "write(%d, %zu) returned %zd errno %d", fd, data.size(), r,
                   errno);
        peer.inbox += data;
        return;
      }
      case Kind::dgram: {
        if (!m.peer_alive(o)) {
          FUZZ_CHECK(r == -1 && errno != EAGAIN, "send to a closed peer on %d: %zd errno %d", fd, r, errno);
          // Linux drops what this socket had queued when it learns its peer is gone.
          o.messages.clear();
          return;
        }
        FUZZ_CHECK(r == static_cast<ssize_t>(data.size()), "datagram write(%d, %zu) returned %zd errno %d", fd,
                   data.size(), r, errno);
        m.ofds[o.peer].messages.push_back(data);
        return;
      }
    }
  }
  // Would a write of up to 70 bytes block? Then the harness does not make it.
  bool write_may_block(int fd) {
    const Ofd& o = m.of(fd);
    if (!m.peer_alive(o) || o.shut_wr) return false;
    const Ofd& peer = m.ofds[o.peer];
    if (o.kind == Kind::dgram) return peer.messages.size() >= kMaxDatagrams;
    if (o.kind == Kind::stream || o.kind == Kind::pipe_write) return peer.inbox.size() + 70 > kMaxBuffered;
    return false;
  }

  // Checks a read of `n` bytes that returned `r` into `buf` against description `o`.
  void expect_read(Ofd& o, int fd, std::size_t n, ssize_t r, const char* buf, const char* call, bool recv) {
    const int err = errno;
    if (n == 0 && !recv) {
      // read() of nothing: 0, and a datagram stays queued.
      FUZZ_CHECK(r == 0, "%s(%d, 0) on a %s: %zd errno %d", call, fd, kKindNames[int(o.kind)], r, err);
      return;
    }
    if (o.kind == Kind::dgram && !o.messages.empty()) {
      const std::string msg = o.messages.front();
      o.messages.pop_front();
      const std::size_t want = std::min(n, msg.size());
      FUZZ_CHECK(r == static_cast<ssize_t>(want) && std::memcmp(buf, msg.data(), want) == 0,
                 "%s(%d, %zu): %zd errno %d, expected the %zu-byte message", call, fd, n, r, err, msg.size());
      return;
    }
    if (o.kind != Kind::dgram && !o.inbox.empty()) {
      const std::size_t want = std::min(n, o.inbox.size());
      FUZZ_CHECK(r == static_cast<ssize_t>(want) && std::memcmp(buf, o.inbox.data(), want) == 0,
                 "%s(%d, %zu): %zd errno %d, expected %zu of %zu queued bytes", call, fd, n, r, err, want,
                 o.inbox.size());
      o.inbox.erase(0, want);
      return;
    }
    if (o.reset) {
      o.reset = false;
      errno = err;
      return expect_error(r, ECONNRESET, call, fd);
    }
    if (!m.would_block(o, n, recv)) {
      FUZZ_CHECK(r == 0, "%s(%d, %zu) on an empty %s (end of file or 0 bytes): %zd errno %d", call, fd, n,
                 kKindNames[int(o.kind)], r, err);
      return;
    }
    errno = err;
    expect_error(r, EAGAIN, call, fd);
  }

  void do_read() {
    const int fd = pick(in.ConsumeProbability<float>() < 0.05f);
    if (fd < 0) return;
    const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 100);
    char buf[128];
    if (!m.fds.contains(fd)) return expect_error(::read(fd, buf, n), EBADF, "read", fd);
    Ofd& o = m.of(fd);
    if (o.kind == Kind::pipe_write) return expect_error(::read(fd, buf, n), EBADF, "read of a pipe's write end", fd);
    if (o.kind == Kind::unconnected) {
      const ssize_t r = ::read(fd, buf, n);
      FUZZ_CHECK(r <= 0 && (r == 0 || errno != EAGAIN || o.nonblock), "read of unconnected %d: %zd errno %d", fd, r,
                 errno);
      return;
    }
    // A blocking read with nothing to return waits: do_blocking_read makes those.
    // read and readv (two buffers) behave alike, and so do recv and recvmsg (two buffers);
    // the recv family only on sockets.
    static constexpr const char* kCalls[] = {"read", "readv", "recv", "recvmsg"};
    const int call = in.ConsumeIntegralInRange<int>(0, o.kind == Kind::pipe_read ? 1 : 3);
    const bool use_recv = call >= 2;
    if (!o.nonblock && m.would_block(o, n, use_recv)) return;
    const std::size_t first = n / 3;
    iovec iov[2] = {{buf, first}, {buf + first, n - first}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    ssize_t r = -1;
    switch (call) {
      case 0: r = ::read(fd, buf, n); break;
      case 1: r = ::readv(fd, iov, 2); break;
      case 2: r = ::recv(fd, buf, n, 0); break;
      case 3: r = ::recvmsg(fd, &msg, 0); break;
    }
    TRACE("%s(%d, %zu) = %zd", kCalls[call], fd, n, r);
    expect_read(o, fd, n, r, buf, kCalls[call], use_recv);
  }

  // A read that really waits, in blocking mode with nothing queued.
  void do_blocking_read() {
    const int fd = pick();
    if (fd < 0) return;
    Ofd& o = m.of(fd);
    if (!m.readable_kind(o) || o.nonblock || !m.would_block(o, 1, false)) return;
    const auto n = in.ConsumeIntegralInRange<std::size_t>(1, 100);
    char buf[128];
    const int how = in.ConsumeIntegralInRange<int>(0, 2);
    TRACE("blocking read(%d, %zu), way %d", fd, n, how);
    const int peer_fd = o.peer >= 0 ? m.fd_of(o.peer) : -1;
    if (how == 0 && peer_fd >= 0 && !write_may_block(peer_fd)) {
      // Another greenlet writes: the read wakes and returns those bytes.
      const std::string data = bytes(64);
      auto writer = green::spawn([peer_fd, data] {
        TRACE("  writer greenlet: write(%d, %zu)", peer_fd, data.size());
        FUZZ_CHECK(::write(peer_fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()),
                   "writer greenlet: write(%d): errno %d", peer_fd, errno);
      });
      const ssize_t r = ::read(fd, buf, n);
      const int err = errno;
      FUZZ_CHECK(writer.join(10.0), "writer greenlet did not finish");
      if (o.kind == Kind::dgram)
        o.messages.push_back(data);
      else
        o.inbox += data;
      if (r == -1 && err == EAGAIN && o.rcvtimeo_us > 0) return;  // SO_RCVTIMEO passed first
      errno = err;
      expect_read(o, fd, n, r, buf, "read woken by a write", false);
    } else if (how == 1) {
      // Another greenlet closes the descriptor: the read fails with EBADF.
      auto closer = green::spawn([fd] { FUZZ_CHECK(::close(fd) == 0, "closer greenlet: close(%d): errno %d", fd, errno); });
      const ssize_t r = ::read(fd, buf, n);
      const int err = errno;
      FUZZ_CHECK(closer.join(10.0), "closer greenlet did not finish");
      m.close_fd(fd);
      errno = err;
      expect_error(r, r == -1 && err == EAGAIN && o.rcvtimeo_us > 0 ? EAGAIN : EBADF,
                   "read of a descriptor another greenlet closed", fd);
    } else if (o.rcvtimeo_us > 0 && o.kind != Kind::pipe_read && peer_fd >= 0 && !write_may_block(peer_fd)) {
      // SO_RCVTIMEO passes: EAGAIN. A rescue wakes a read that ignores it.
      auto rescue = green::spawn([peer_fd] {
        green::sleep(2.0);
        (void)::send(peer_fd, "!", 1, MSG_DONTWAIT);
      });
      const ssize_t r = ::recv(fd, buf, n, 0);
      const int err = errno;
      rescue.kill();
      errno = err;
      expect_error(r, EAGAIN, "read past SO_RCVTIMEO", fd);
    }
  }

  void step() {
    const int op = in.ConsumeIntegralInRange<int>(0, 18);
    TRACE("step %d, %zu bytes left", op, in.remaining_bytes());
    switch (op) {
      case 0: return make_pipe();
      case 1: return make_socketpair(true);
      case 2: return make_socketpair(false);
      case 3: return make_socket();
      case 4: return do_dup();
      case 5: return do_dup2(false);
      case 6: return do_dup2(true);
      case 7: return do_dupfd();
      case 8: return do_getfl();
      case 9: return do_setfl(false);
      case 10: return do_setfl(true);
      case 11: return do_rcvtimeo();
      case 12: return do_shutdown();
      case 13: return do_close();
      case 14: return do_close_range();
      case 15:
      case 16: {
        const int fd = pick();
        if (fd >= 0 && write_may_block(fd)) return;
        return do_write();
      }
      case 17: return do_read();
      case 18: return do_blocking_read();
    }
  }

  void run() {
    for (int i = 0; i < kMaxSteps && in.remaining_bytes() > 0; ++i) {
      if (m.fds.size() > 40) break;  // plenty of state; stay clear of the fd limit
      step();
      check_all("a step");
    }
    for (auto it = m.fds.begin(); it != m.fds.end();) {
      const int fd = (it++)->first;
      FUZZ_CHECK(::close(fd) == 0, "final close(%d): errno %d", fd, errno);
    }
    m.fds.clear();
    check_all("closing everything");
    TRACE("done");
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::signal(SIGPIPE, SIG_IGN);  // a write with no reader fails with EPIPE instead
  for (int fd = kHigh; fd < kHigh + kHighCount; ++fd)
    FUZZ_CHECK(raw_fcntl(fd, F_GETFD) == -1, "fd %d is open before the first input", fd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto g = green::spawn([&in] { Run(in).run(); });
  FUZZ_CHECK(g.join(60.0), "the program greenlet did not finish");
  g->rethrow_if_failed();
  return 0;
}
