#include "green/resolver.hpp"

#include <cstring>
#include <memory>

#include "green/async_result.hpp"
#include "io/offload.hpp"

namespace green {
namespace {

bool numeric(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

struct Lookup {
  int code = 0;
  int saved_errno = 0;
  std::vector<AddrInfo> infos;
};

Lookup run_getaddrinfo(const std::string& host, const std::string& service, const addrinfo& hints) {
  Lookup out;
  addrinfo* list = nullptr;
  out.code = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.empty() ? nullptr : service.c_str(), &hints, &list);
  out.saved_errno = errno;
  if (out.code != 0) return out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next)
    out.infos.push_back(AddrInfo{ai->ai_family, ai->ai_socktype, ai->ai_protocol,
                                 ai->ai_canonname != nullptr ? ai->ai_canonname : "",
                                 Address(ai->ai_addr, ai->ai_addrlen)});
  ::freeaddrinfo(list);
  return out;
}

std::string gai_message(int code, int saved_errno) {
  return code == EAI_SYSTEM ? std::strerror(saved_errno) : ::gai_strerror(code);
}

}  // namespace

std::vector<AddrInfo> getaddrinfo(const std::string& host, const std::string& service, int family, int socktype,
                                  int protocol, int flags, std::optional<double> timeout) {
  if (timeout && !(*timeout >= 0))
    throw std::invalid_argument("green::getaddrinfo: timeout must be >= 0, got " + std::to_string(*timeout));
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = socktype;
  hints.ai_protocol = protocol;
  hints.ai_flags = flags;
  const std::string what = "green::getaddrinfo(" + (host.empty() ? std::string("<any>") : host) + ", " + service + ")";
  // Numeric host and port: no I/O, no thread.
  if (service.empty() || numeric(service)) {
    addrinfo numeric_hints = hints;
    numeric_hints.ai_flags |= AI_NUMERICHOST | (service.empty() ? 0 : AI_NUMERICSERV);
    Lookup quick = run_getaddrinfo(host, service, numeric_hints);
    if (quick.code == 0) return std::move(quick.infos);
    if (quick.code != EAI_NONAME) throw ResolverError(quick.code, what + ": " + gai_message(quick.code, quick.saved_errno));
  }
  Lookup result = detail::offload<Lookup>(
      [host, service, hints] { return run_getaddrinfo(host, service, hints); }, timeout, what.c_str());
  if (result.code != 0) throw ResolverError(result.code, what + ": " + gai_message(result.code, result.saved_errno));
  return std::move(result.infos);
}

std::pair<std::string, std::string> getnameinfo(const Address& address, int flags, std::optional<double> timeout) {
  if (timeout && !(*timeout >= 0))
    throw std::invalid_argument("green::getnameinfo: timeout must be >= 0, got " + std::to_string(*timeout));
  struct Names {
    int code = 0;
    int saved_errno = 0;
    std::string host, service;
  };
  auto run = [address, flags] {
    Names out;
    char host[NI_MAXHOST] = "", service[NI_MAXSERV] = "";
    out.code = ::getnameinfo(address.get(), address.size(), host, sizeof(host), service, sizeof(service), flags);
    out.saved_errno = errno;
    out.host = host;
    out.service = service;
    return out;
  };
  const std::string what = "green::getnameinfo(" + address.to_string() + ")";
  Names names = (flags & NI_NUMERICHOST) && (flags & NI_NUMERICSERV) ? run()
                                                                      : detail::offload<Names>(run, timeout, what.c_str());
  if (names.code != 0) throw ResolverError(names.code, what + ": " + gai_message(names.code, names.saved_errno));
  return {std::move(names.host), std::move(names.service)};
}

}  // namespace green
