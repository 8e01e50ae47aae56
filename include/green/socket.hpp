// green/socket.hpp: cooperative sockets (Python's socket / gevent.socket).
//
// A Socket owns one descriptor (move-only RAII; the destructor closes it). The descriptor
// is always non-blocking at the OS level; what the caller sees is set by settimeout():
//   nullopt (the default)  blocking: an operation waits (cooperatively) as long as needed;
//   0                      non-blocking: an operation that would block throws EAGAIN;
//   t > 0                  each operation may take at most t seconds in total (sendall,
//                          recv_exact and recv_until included), then throws SocketTimeout.
// Waiting suspends only the calling greenlet and honours an enclosing green::Timeout.
//
// Errors are std::system_error whose message names the operation and the peer
// ("green::Socket.recv from 127.0.0.1:4000: Connection reset by peer"). A peer that closed
// the connection is not an error for recv (it returns 0 / an empty string) but is for
// recv_exact and recv_until, which throw EOFError with how many bytes had arrived.
//
// close() while another greenlet waits on this socket wakes that greenlet with EBADF
// ("closed in another greenlet") instead of leaving it asleep; two greenlets receiving
// (or sending) on one socket at the same time is a std::logic_error naming the other one.
// A Socket may be used from any OS thread, by one greenlet at a time per direction.
//
// recv_until keeps bytes read past the delimiter in an internal buffer that recv,
// recv_exact and recv_until consume first.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace green {

// A socket address: IPv4, IPv6 or a Unix path.
class Address {
 public:
  Address() noexcept;
  Address(const sockaddr* addr, socklen_t len);
  // A numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "" = any IPv4 address) and a port.
  // std::invalid_argument for anything else (resolve names with green::getaddrinfo).
  static Address ip(std::string_view host, int port);
  static Address unix_path(std::string_view path);

  int family() const noexcept { return storage_.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* get() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return len_; }
  void set_size(socklen_t len) noexcept { len_ = len; }
  // The numeric host ("::1"), the port (0 for Unix), "host:port" / "[v6]:port" / the path.
  std::string host() const;
  int port() const noexcept;
  std::string to_string() const;

 private:
  sockaddr_storage storage_;
  socklen_t len_;
};

// An operation did not finish within the socket's timeout (Python's socket.timeout).
class SocketTimeout : public std::system_error {
 public:
  explicit SocketTimeout(const std::string& what)
      : std::system_error(std::make_error_code(std::errc::timed_out), what) {}
};

// The peer closed the connection before recv_exact / recv_until had what they need.
class EOFError : public std::runtime_error {
 public:
  EOFError(const std::string& what, std::string partial)
      : std::runtime_error(what), partial_(std::move(partial)) {}
  // The bytes that had arrived.
  const std::string& partial() const noexcept { return partial_; }

 private:
  std::string partial_;
};

class Socket {
 public:
  // A closed socket (fileno() == -1).
  Socket() noexcept = default;
  // socket(family, type, protocol): AF_INET/AF_INET6/AF_UNIX, SOCK_STREAM/SOCK_DGRAM.
  explicit Socket(int family, int type = SOCK_STREAM, int protocol = 0);
  // Takes ownership of a descriptor (made non-blocking and close-on-exec).
  static Socket from_fd(int fd);
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  // nullopt: blocking; 0: non-blocking; t > 0: t seconds per operation.
  void settimeout(std::optional<double> seconds);
  std::optional<double> gettimeout() const noexcept { return timeout_; }
  void setblocking(bool blocking) { settimeout(blocking ? std::nullopt : std::optional<double>(0.0)); }

  void connect(const Address& address);
  // connect() that returns the errno instead of throwing (0 on success; EAGAIN when a
  // non-blocking connect is in progress; ETIMEDOUT on timeout).
  int connect_ex(const Address& address);
  void bind(const Address& address);
  void listen(int backlog = 1024);
  // The connection and the peer's address; the new socket inherits no timeout (blocking).
  std::pair<Socket, Address> accept();

  // Up to n bytes; 0 means the peer closed the connection.
  std::size_t recv(void* buffer, std::size_t n, int flags = 0);
  std::string recv(std::size_t max_bytes);
  // Exactly n bytes; EOFError if the connection ends first.
  void recv_exact(void* buffer, std::size_t n);
  std::string recv_exact(std::size_t n);
  // Up to and including `delimiter`; std::length_error if it has not appeared within
  // max_size bytes (the bytes stay buffered), EOFError if the connection ends first.
  std::string recv_until(std::string_view delimiter, std::size_t max_size = 65536);

  // Some of the bytes (at least one unless the socket is non-blocking); returns how many.
  std::size_t send(const void* data, std::size_t n, int flags = 0);
  std::size_t send(std::string_view data, int flags = 0) { return send(data.data(), data.size(), flags); }
  // All of the bytes, or throws (SocketTimeout says how many were sent).
  void sendall(const void* data, std::size_t n, int flags = 0);
  void sendall(std::string_view data, int flags = 0) { sendall(data.data(), data.size(), flags); }

  std::pair<std::size_t, Address> recvfrom(void* buffer, std::size_t n, int flags = 0);
  std::size_t sendto(const void* data, std::size_t n, const Address& address, int flags = 0);
  std::size_t sendto(std::string_view data, const Address& address, int flags = 0) {
    return sendto(data.data(), data.size(), address, flags);
  }

  // SHUT_RD, SHUT_WR or SHUT_RDWR.
  void shutdown(int how);
  // Wakes greenlets waiting on this socket (EBADF), then closes it. Idempotent.
  void close() noexcept;
  // Gives up ownership: returns the descriptor and leaves the socket closed.
  int detach() noexcept;
  int fileno() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  Address getsockname() const;
  Address getpeername() const;
  void setsockopt(int level, int option, int value);
  int getsockopt(int level, int option) const;

 private:
  struct Adopt {};
  Socket(Adopt, int fd, int family) noexcept;
  std::string describe(const char* op, const char* preposition) const;
  [[noreturn]] void fail(const char* op, const char* preposition, int error) const;
  [[noreturn]] void timed_out(const char* op, const char* preposition, const std::string& detail = {}) const;
  // Waits for `events` until `deadline` (monotonic seconds; nullopt: forever). Throws
  // SocketTimeout / EAGAIN (non-blocking) / what the wait throws.
  void wait(int events, std::optional<double> deadline, const char* op, const char* preposition);
  std::optional<double> deadline() const;
  // Inline (defined in socket.cpp, its only user): one frame fewer under a blocked recv.
  inline std::size_t recv_some(void* buffer, std::size_t n, int flags, std::optional<double> deadline, const char* op);
  void ensure_open(const char* op) const;

  // Every recv and send reads fd_ to rbuf_'s length: the order keeps them within 56 bytes,
  // one cache line when the Socket is 64-byte aligned (as StreamServer's handlers get it).
  int fd_ = -1;
  int family_ = 0;
  // The last recv read less than asked: the kernel buffer is probably empty, so the next
  // one waits for readiness first instead of paying for a read that returns EAGAIN.
  bool drained_ = false;
  std::size_t rpos_ = 0;
  std::optional<double> timeout_;
  std::string rbuf_;  // bytes recv_until read past its delimiter
};

// Connects to host:port, trying every address getaddrinfo returns in order; the socket
// has `timeout` as its timeout. Throws the last address's error if none accepts.
Socket create_connection(const std::string& host, int port, std::optional<double> timeout = {});

}  // namespace green
