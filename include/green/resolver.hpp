// green/resolver.hpp: name resolution that never blocks the hub (gevent's default
// threadpool resolver).
//
// glibc's getaddrinfo talks to DNS through internal calls nothing can make cooperative, so
// a lookup runs on the hub's ThreadPool (real OS threads) while the calling greenlet waits
// cooperatively. Numeric hosts and services ("127.0.0.1", "::1", "8080") are converted on
// the spot with no thread and no I/O. A timeout abandons the wait, not the lookup: its
// thread finishes on its own and the result is dropped.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "green/socket.hpp"

namespace green {

// A lookup failed: code() is the EAI_* value, what() names the host and says why.
class ResolverError : public std::runtime_error {
 public:
  ResolverError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

struct AddrInfo {
  int family;
  int socktype;
  int protocol;
  std::string canonname;  // with AI_CANONNAME, on the first entry
  Address address;
};

// getaddrinfo(3): host may be empty (the wildcard with AI_PASSIVE, else loopback), service a
// port number or a name from /etc/services. Throws ResolverError, or SocketTimeout when
// `timeout` seconds pass first.
std::vector<AddrInfo> getaddrinfo(const std::string& host, const std::string& service, int family = AF_UNSPEC,
                                  int socktype = 0, int protocol = 0, int flags = 0,
                                  std::optional<double> timeout = {});

// getnameinfo(3): {host, service} for an address. Throws as getaddrinfo does.
std::pair<std::string, std::string> getnameinfo(const Address& address, int flags = 0,
                                                std::optional<double> timeout = {});

}  // namespace green
