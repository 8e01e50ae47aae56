#include "green/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "green/resolver.hpp"
#include "green/fd_wait.hpp"
#include "io/fd_wait_internal.hpp"

namespace green {
namespace {

double monotonic() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::system_error os_error(int error, const std::string& what) {
  return std::system_error(error, std::generic_category(), what);
}

}  // namespace

// ---- Address ----

Address::Address() noexcept : storage_{}, len_(0) {}

Address::Address(const sockaddr* addr, socklen_t len) : storage_{}, len_(len) {
  if (len > sizeof(storage_)) throw std::invalid_argument("green::Address: address length " + std::to_string(len) + " is too large");
  std::memcpy(&storage_, addr, len);
}

Address Address::ip(std::string_view host, int port) {
  if (port < 0 || port > 65535)
    throw std::invalid_argument("green::Address::ip: port must be in [0, 65535], got " + std::to_string(port));
  Address a;
  std::string text(host);
  if (!text.empty() && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (text.empty() || ::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    if (text.empty()) v4->sin_addr.s_addr = htonl(INADDR_ANY);
    a.len_ = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.len_ = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("green::Address::ip: '" + std::string(host) +
                                "' is not a numeric IPv4 or IPv6 address (resolve names with green::getaddrinfo)");
  }
  return a;
}

Address Address::unix_path(std::string_view path) {
  Address a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  if (path.empty() || path.size() >= sizeof(un->sun_path))
    throw std::invalid_argument("green::Address::unix_path: a path must have 1 to " +
                                std::to_string(sizeof(un->sun_path) - 1) + " bytes, got " + std::to_string(path.size()));
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  // A leading NUL names Linux's abstract namespace, whose names are not NUL-terminated.
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '\0' ? 0 : 1));
  return a;
}

std::string Address::host() const {
  char text[INET6_ADDRSTRLEN] = "";
  if (family() == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof(text));
  else if (family() == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text, sizeof(text));
  else if (family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    const std::size_t n = len_ > offsetof(sockaddr_un, sun_path) ? len_ - offsetof(sockaddr_un, sun_path) : 0;
    std::string path(un->sun_path, n);
    if (!path.empty() && path[0] != '\0') path = path.c_str();
    return path;
  }
  return text;
}

int Address::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string Address::to_string() const {
  switch (family()) {
    case AF_INET:
      return host() + ":" + std::to_string(port());
    case AF_INET6:
      return "[" + host() + "]:" + std::to_string(port());
    case AF_UNIX: {
      std::string path = host();
      if (path.empty()) return "unix:(unnamed)";
      if (path[0] == '\0') path[0] = '@';
      return "unix:" + path;
    }
    default:
      return "(no address)";
  }
}

// ---- Socket ----

Socket::Socket(int family, int type, int protocol) {
  fd_ = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd_ < 0)
    throw os_error(errno, "green::Socket: socket(family " + std::to_string(family) + ", type " + std::to_string(type) + ")");
  family_ = family;
  fd_opened(fd_);
}

Socket::Socket(Adopt, int fd, int family) noexcept : fd_(fd), family_(family) { fd_opened(fd_); }

Socket Socket::from_fd(int fd) {
  if (fd < 0) throw std::invalid_argument("green::Socket::from_fd: fd must be >= 0, got " + std::to_string(fd));
  int family = 0;
  socklen_t len = sizeof(family);
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) != 0)
    throw os_error(errno, "green::Socket::from_fd: fd " + std::to_string(fd) + " is not a socket");
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
    throw os_error(errno, "green::Socket::from_fd: fcntl on fd " + std::to_string(fd));
  return Socket(Adopt{}, fd, family);
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      family_(other.family_),
      drained_(other.drained_),
      rpos_(std::exchange(other.rpos_, 0)),
      timeout_(other.timeout_),
      rbuf_(std::move(other.rbuf_)) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    family_ = other.family_;
    timeout_ = other.timeout_;
    drained_ = other.drained_;
    rbuf_ = std::move(other.rbuf_);
    rpos_ = std::exchange(other.rpos_, 0);
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::close() noexcept {
  if (fd_ < 0) return;
  const int fd = std::exchange(fd_, -1);
  fd_closing(fd);  // wake greenlets blocked on it before the number can be reused
  ::close(fd);
  rbuf_.clear();
  rpos_ = 0;
}

int Socket::detach() noexcept {
  if (fd_ >= 0) fd_closing(fd_, EBADF);
  rbuf_.clear();
  rpos_ = 0;
  return std::exchange(fd_, -1);
}

void Socket::settimeout(std::optional<double> seconds) {
  if (seconds && !(*seconds >= 0))
    throw std::invalid_argument("green::Socket.settimeout: seconds must be >= 0 or nullopt, got " +
                                std::to_string(*seconds));
  timeout_ = seconds;
}

std::string Socket::describe(const char* op, const char* preposition) const {
  std::string text = std::string("green::") + op;
  if (fd_ < 0) return text;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  const bool peer = ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0;
  if (!peer) {
    len = sizeof(ss);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return text;
    preposition = "on";
  }
  return text + " " + preposition + " " + Address(reinterpret_cast<sockaddr*>(&ss), len).to_string();
}

void Socket::fail(const char* op, const char* preposition, int error) const {
  throw os_error(error, describe(op, preposition));
}

void Socket::timed_out(const char* op, const char* preposition, const std::string& detail) const {
  throw SocketTimeout(describe(op, preposition) + ": timed out after " + std::to_string(timeout_.value_or(0)) + " s" + detail);
}

void Socket::ensure_open(const char* op) const {
  if (fd_ < 0) throw os_error(EBADF, std::string("green::") + op + ": the socket is closed");
}

std::optional<double> Socket::deadline() const {
  if (!timeout_ || *timeout_ == 0) return std::nullopt;
  return monotonic() + *timeout_;
}

void Socket::wait(int events, std::optional<double> deadline, const char* op, const char* preposition) {
  if (!timeout_) [[likely]] {  // blocking: no deadline, and an untimed wait only returns when ready
    detail::wait_io(fd_, events, std::nullopt, op);
    return;
  }
  if (*timeout_ == 0) fail(op, preposition, EAGAIN);
  std::optional<double> left;
  if (deadline) {
    left = *deadline - monotonic();
    if (*left <= 0) timed_out(op, preposition);
  }
  if (!detail::wait_io(fd_, events, left, op)) timed_out(op, preposition);
}

int Socket::connect_ex(const Address& address) {
  ensure_open("Socket.connect");
  if (::connect(fd_, address.get(), address.size()) == 0) return 0;
  int error = errno;
  if (error != EINPROGRESS && error != EINTR) return error;
  if (timeout_ && *timeout_ == 0) return EINPROGRESS;
  if (!detail::wait_io(fd_, kWritable, timeout_, "Socket.connect")) return ETIMEDOUT;
  socklen_t len = sizeof(error);
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
  return error;
}

void Socket::connect(const Address& address) {
  ensure_open("Socket.connect");
  const int error = connect_ex(address);
  if (error == 0) return;
  const std::string what = "green::Socket.connect to " + address.to_string();
  if (error == ETIMEDOUT && timeout_) throw SocketTimeout(what + ": timed out after " + std::to_string(*timeout_) + " s");
  throw os_error(error, what);
}

void Socket::bind(const Address& address) {
  ensure_open("Socket.bind");
  if (::bind(fd_, address.get(), address.size()) != 0)
    throw os_error(errno, "green::Socket.bind to " + address.to_string());
}

void Socket::listen(int backlog) {
  ensure_open("Socket.listen");
  if (::listen(fd_, backlog) != 0) fail("Socket.listen", "on", errno);
}

std::pair<Socket, Address> Socket::accept() {
  ensure_open("Socket.accept");
  const std::optional<double> until = deadline();
  for (;;) {
    Address peer;
    socklen_t len = sizeof(sockaddr_storage);
    const int fd = ::accept4(fd_, peer.get(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.set_size(len);
      return {Socket(Adopt{}, fd, family_), peer};
    }
    const int error = errno;
    if (error == EINTR || error == ECONNABORTED) continue;
    if (error != EAGAIN) fail("Socket.accept", "on", error);
    wait(kReadable, until, "Socket.accept", "on");
  }
}

__attribute__((always_inline)) inline std::size_t Socket::recv_some(void* buffer, std::size_t n, int flags,
                                                                std::optional<double> until, const char* op) {
  bool wait_first = drained_ && !(timeout_ && *timeout_ == 0);
  for (;;) {
    if (wait_first) {
      if (!timeout_)  // blocking (the common case): Socket::wait's first branch, one frame fewer
        detail::wait_io(fd_, kReadable, std::nullopt, op);
      else
        wait(kReadable, until, op, "from");
    }
    const ssize_t got = ::recv(fd_, buffer, n, flags);
    if (got >= 0) {
      drained_ = got > 0 && static_cast<std::size_t>(got) < n;
      return static_cast<std::size_t>(got);
    }
    const int error = errno;
    drained_ = false;
    if (error == EINTR) {
      wait_first = false;
      continue;
    }
    if (error != EAGAIN) fail(op, "from", error);
    if (timeout_ && *timeout_ == 0) fail(op, "from", EAGAIN);
    wait_first = true;
  }
}

std::size_t Socket::recv(void* buffer, std::size_t n, int flags) {
  ensure_open("Socket.recv");
  if (n == 0) return 0;
  if (rpos_ < rbuf_.size()) {
    const std::size_t take = std::min(n, rbuf_.size() - rpos_);
    std::memcpy(buffer, rbuf_.data() + rpos_, take);
    if (!(flags & MSG_PEEK)) rpos_ += take;
    return take;
  }
  return recv_some(buffer, n, flags, deadline(), "Socket.recv");
}

std::string Socket::recv(std::size_t max_bytes) {
  std::string data(max_bytes, '\0');
  data.resize(recv(data.data(), max_bytes));
  return data;
}

void Socket::recv_exact(void* buffer, std::size_t n) {
  ensure_open("Socket.recv_exact");
  auto* out = static_cast<char*>(buffer);
  std::size_t have = 0;
  if (rpos_ < rbuf_.size()) {
    have = std::min(n, rbuf_.size() - rpos_);
    std::memcpy(out, rbuf_.data() + rpos_, have);
    rpos_ += have;
  }
  const std::optional<double> until = deadline();
  while (have < n) {
    std::size_t got;
    try {
      got = recv_some(out + have, n - have, 0, until, "Socket.recv_exact");
    } catch (const SocketTimeout& e) {
      throw SocketTimeout(std::string(e.what()) + " (" + std::to_string(have) + " of " + std::to_string(n) +
                          " bytes had arrived)");
    }
    if (got == 0)
      throw EOFError(describe("Socket.recv_exact", "from") + ": the connection was closed after " +
                         std::to_string(have) + " of " + std::to_string(n) + " bytes",
                     std::string(out, have));
    have += got;
  }
}

std::string Socket::recv_exact(std::size_t n) {
  std::string data(n, '\0');
  recv_exact(data.data(), n);
  return data;
}

std::string Socket::recv_until(std::string_view delimiter, std::size_t max_size) {
  ensure_open("Socket.recv_until");
  if (delimiter.empty()) throw std::invalid_argument("green::Socket.recv_until: the delimiter is empty");
  if (rpos_ > 0 && rpos_ == rbuf_.size()) {
    rbuf_.clear();
    rpos_ = 0;
  }
  const std::optional<double> until = deadline();
  std::size_t searched = rpos_;  // where the next search for the delimiter starts
  for (;;) {
    const std::size_t found = rbuf_.find(delimiter, searched);
    if (found != std::string::npos && found + delimiter.size() - rpos_ <= max_size) {
      const std::size_t end = found + delimiter.size();
      std::string line = rbuf_.substr(rpos_, end - rpos_);
      rpos_ = end;
      if (rpos_ == rbuf_.size()) {
        rbuf_.clear();
        rpos_ = 0;
      }
      return line;
    }
    const std::size_t have = rbuf_.size() - rpos_;
    if (found != std::string::npos || have >= max_size)
      throw std::length_error(describe("Socket.recv_until", "from") + ": no '" + std::string(delimiter) +
                              "' within " + std::to_string(max_size) + " bytes");
    if (rpos_ > 0) {  // compact before growing
      rbuf_.erase(0, rpos_);
      rpos_ = 0;
    }
    searched = rbuf_.size() >= delimiter.size() ? rbuf_.size() - delimiter.size() + 1 : 0;
    const std::size_t old = rbuf_.size();
    const std::size_t want = std::max<std::size_t>(1, std::min<std::size_t>(65536, max_size - have + delimiter.size()));
    rbuf_.resize(old + want);
    std::size_t got = 0;
    try {
      got = recv_some(rbuf_.data() + old, want, 0, until, "Socket.recv_until");
    } catch (...) {
      rbuf_.resize(old);
      throw;
    }
    rbuf_.resize(old + got);
    if (got == 0) {
      std::string partial = rbuf_.substr(rpos_);
      rbuf_.clear();
      rpos_ = 0;
      // The message first: the order in which arguments are evaluated is unspecified, and
      // moving `partial` into EOFError first made the message say "after 0 bytes".
      const std::string what = describe("Socket.recv_until", "from") + ": the connection was closed after " +
                               std::to_string(partial.size()) + " bytes without '" + std::string(delimiter) + "'";
      throw EOFError(what, std::move(partial));
    }
  }
}

std::size_t Socket::send(const void* data, std::size_t n, int flags) {
  ensure_open("Socket.send");
  const std::optional<double> until = deadline();
  for (;;) {
    const ssize_t sent = ::send(fd_, data, n, flags | MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN) fail("Socket.send", "to", error);
    wait(kWritable, until, "Socket.send", "to");
  }
}

void Socket::sendall(const void* data, std::size_t n, int flags) {
  ensure_open("Socket.sendall");
  const auto* bytes = static_cast<const char*>(data);
  const std::optional<double> until = deadline();
  std::size_t done = 0;
  while (done < n) {
    const ssize_t sent = ::send(fd_, bytes + done, n - done, flags | MSG_NOSIGNAL);
    if (sent >= 0) {
      done += static_cast<std::size_t>(sent);
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN) fail("Socket.sendall", "to", error);
    try {
      wait(kWritable, until, "Socket.sendall", "to");
    } catch (const SocketTimeout& e) {
      throw SocketTimeout(std::string(e.what()) + " (" + std::to_string(done) + " of " + std::to_string(n) +
                          " bytes were sent)");
    }
  }
}

std::pair<std::size_t, Address> Socket::recvfrom(void* buffer, std::size_t n, int flags) {
  ensure_open("Socket.recvfrom");
  const std::optional<double> until = deadline();
  for (;;) {
    Address from;
    socklen_t len = sizeof(sockaddr_storage);
    const ssize_t got = ::recvfrom(fd_, buffer, n, flags, from.get(), &len);
    if (got >= 0) {
      from.set_size(len);
      return {static_cast<std::size_t>(got), from};
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN) fail("Socket.recvfrom", "on", error);
    wait(kReadable, until, "Socket.recvfrom", "on");
  }
}

std::size_t Socket::sendto(const void* data, std::size_t n, const Address& address, int flags) {
  ensure_open("Socket.sendto");
  const std::optional<double> until = deadline();
  for (;;) {
    const ssize_t sent = ::sendto(fd_, data, n, flags | MSG_NOSIGNAL, address.get(), address.size());
    if (sent >= 0) return static_cast<std::size_t>(sent);
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN) throw os_error(error, "green::Socket.sendto " + address.to_string());
    wait(kWritable, until, "Socket.sendto", "to");
  }
}

void Socket::shutdown(int how) {
  ensure_open("Socket.shutdown");
  if (::shutdown(fd_, how) != 0) fail("Socket.shutdown", "of", errno);
}

Address Socket::getsockname() const {
  ensure_open("Socket.getsockname");
  Address a;
  socklen_t len = sizeof(sockaddr_storage);
  if (::getsockname(fd_, a.get(), &len) != 0) throw os_error(errno, "green::Socket.getsockname");
  a.set_size(len);
  return a;
}

Address Socket::getpeername() const {
  ensure_open("Socket.getpeername");
  Address a;
  socklen_t len = sizeof(sockaddr_storage);
  if (::getpeername(fd_, a.get(), &len) != 0) throw os_error(errno, "green::Socket.getpeername");
  a.set_size(len);
  return a;
}

void Socket::setsockopt(int level, int option, int value) {
  ensure_open("Socket.setsockopt");
  if (::setsockopt(fd_, level, option, &value, sizeof(value)) != 0)
    throw os_error(errno, "green::Socket.setsockopt(" + std::to_string(level) + ", " + std::to_string(option) + ")");
}

int Socket::getsockopt(int level, int option) const {
  ensure_open("Socket.getsockopt");
  int value = 0;
  socklen_t len = sizeof(value);
  if (::getsockopt(fd_, level, option, &value, &len) != 0)
    throw os_error(errno, "green::Socket.getsockopt(" + std::to_string(level) + ", " + std::to_string(option) + ")");
  return value;
}

Socket create_connection(const std::string& host, int port, std::optional<double> timeout) {
  if (port < 0 || port > 65535)
    throw std::invalid_argument("green::create_connection: port must be in [0, 65535], got " + std::to_string(port));
  std::vector<AddrInfo> infos = getaddrinfo(host, std::to_string(port), AF_UNSPEC, SOCK_STREAM, 0, 0, timeout);
  std::exception_ptr last;
  for (const AddrInfo& info : infos) {
    try {
      Socket sock(info.family, info.socktype, info.protocol);
      sock.settimeout(timeout);
      sock.connect(info.address);
      return sock;
    } catch (const std::system_error&) {
      last = std::current_exception();
    }
  }
  if (last) std::rethrow_exception(last);
  throw os_error(EHOSTUNREACH, "green::create_connection to " + host + ":" + std::to_string(port) + ": no address");
}

}  // namespace green
