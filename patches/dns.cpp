// The dns family: getaddrinfo, getnameinfo, gethostbyname, gethostbyname_r.
//
// glibc resolves names through its own internal calls, which no hook sees, so in a
// greenlet the real function runs on the hub's thread pool (real OS threads, even under
// --threads; GREEN_THREADPOOL_SIZE of them) while the greenlet waits cooperatively, as
// gevent's threaded resolver does. The result is copied back into the caller's buffers. A kill during the wait fails the call (EAI_SYSTEM with errno EINTR, or
// NETDB_INTERNAL for the gethostbyname family); the resolver thread then frees what it
// found. gethostbyname's result lives in storage per OS thread, shared by that thread's
// greenlets, as it is shared by a program's calls in C: copy it before the next call.
#include <errno.h>
#include <netdb.h>
#include <cstring>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "green/errors.hpp"
#include "green/hub.hpp"
#include "green/linkable.hpp"
#include "green/thread_pool.hpp"
#include "real.hpp"

namespace green::patch {
namespace {

// One resolver call on its own thread. `state` decides who owns the result: the waiter
// (done) or the thread (abandoned, when the waiter was killed first).
class Job : public Linkable {
 public:
  virtual ~Job() = default;
  bool ready() const noexcept override { return state_.load(std::memory_order_acquire) == kDone; }
  virtual void work() noexcept = 0;
  virtual void discard() noexcept {}

  void run_and_finish() noexcept {
    work();
    bool abandoned = false;
    {
      std::lock_guard guard(lock());
      int expected = kRunning;
      if (state_.compare_exchange_strong(expected, kDone, std::memory_order_acq_rel))
        notify_all_locked(Waiter::kNotified);
      else
        abandoned = true;
    }
    if (abandoned) discard();
  }
  // The waiter gives up; false when the result arrived first (then it is the waiter's).
  bool abandon() noexcept {
    int expected = kRunning;
    return state_.compare_exchange_strong(expected, kAbandoned, std::memory_order_acq_rel);
  }

 private:
  static constexpr int kRunning = 0, kDone = 1, kAbandoned = 2;
  std::atomic<int> state_{kRunning};
};

// Runs the job on the hub's thread pool and waits for it cooperatively. Returns whether
// the result is the caller's (false: killed first; the error is kept for the next green::
// call). Never throws.
bool resolve_off_thread(GreenletBase& self, std::shared_ptr<Job> job) noexcept {
  try {
    get_hub().threadpool().spawn([job] { job->run_and_finish(); });
  } catch (...) {
    job->run_and_finish();  // no worker to be had: resolve here, blocking
    return true;
  }
  bool kept_is_kill = false;
  std::exception_ptr kept;
  if (detail::has_deferred_exception(self)) kept = detail::take_deferred_exception(self, kept_is_kill);
  bool mine = true;
  try {
    Waiter waiter("getaddrinfo");
    if (job->link_unless_ready(waiter)) waiter.wait();
  } catch (const GreenletExit&) {
    detail::defer_exception(self, std::current_exception(), true);
    mine = !job->abandon();
  } catch (...) {
    detail::defer_exception(self, std::current_exception(), false);
    mine = !job->abandon();
  }
  if (kept) detail::defer_exception(self, std::move(kept), kept_is_kill);
  return mine;
}

std::optional<std::string> copy(const char* s) { return s ? std::optional<std::string>(s) : std::nullopt; }
const char* c_str(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

struct AddrInfoJob final : Job {
  std::optional<std::string> node, service;
  addrinfo hints{};
  bool has_hints = false;
  addrinfo* result = nullptr;
  int rc = 0, err = 0;
  void work() noexcept override {
    rc = GREEN_REAL(getaddrinfo)(c_str(node), c_str(service), has_hints ? &hints : nullptr, &result);
    err = errno;
  }
  void discard() noexcept override {
    if (rc == 0 && result != nullptr) ::freeaddrinfo(result);
  }
};

struct NameInfoJob final : Job {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::vector<char> host, serv;
  int flags = 0, rc = 0, err = 0;
  void work() noexcept override {
    rc = GREEN_REAL(getnameinfo)(reinterpret_cast<const sockaddr*>(&addr), addr_len, host.empty() ? nullptr : host.data(),
                                 static_cast<socklen_t>(host.size()), serv.empty() ? nullptr : serv.data(),
                                 static_cast<socklen_t>(serv.size()), flags);
    err = errno;
  }
};

struct HostEntJob final : Job {
  std::string name;
  hostent entry{};
  std::vector<char> buffer;
  hostent* result = nullptr;
  int rc = 0, h_err = 0;
  void work() noexcept override {
    rc = GREEN_REAL(gethostbyname_r)(name.c_str(), &entry, buffer.data(), buffer.size(), &result, &h_err);
  }
};

// Copies a hostent whose strings and arrays live in `from` into `to`, moving its pointers.
void relocate(const hostent& src, const std::vector<char>& from, hostent& dst, char* to) {
  std::memcpy(to, from.data(), from.size());
  auto move = [&](auto* p) { return p == nullptr ? p : reinterpret_cast<decltype(p)>(to + (reinterpret_cast<const char*>(p) - from.data())); };
  dst = src;
  dst.h_name = move(src.h_name);
  dst.h_aliases = move(src.h_aliases);
  dst.h_addr_list = move(src.h_addr_list);
  for (char** a = dst.h_aliases; a != nullptr && *a != nullptr; ++a) *a = move(*a);
  for (char** a = dst.h_addr_list; a != nullptr && *a != nullptr; ++a) *a = move(*a);
}

// gethostbyname_r in a greenlet: resolves into a buffer of the caller's size and copies.
int hostent_r(GreenletBase& self, const char* name, hostent* ret, char* buf, size_t buflen, hostent** result,
              int* h_errnop) noexcept {
  std::shared_ptr<HostEntJob> job;
  try {
    job = std::make_shared<HostEntJob>();
    job->name = name;
    job->buffer.resize(buflen);
  } catch (...) {
    *result = nullptr;
    *h_errnop = NETDB_INTERNAL;
    return ENOMEM;
  }
  if (!resolve_off_thread(self, job)) {
    *result = nullptr;
    *h_errnop = NETDB_INTERNAL;
    return EINTR;
  }
  *h_errnop = job->h_err;
  if (job->rc != 0 || job->result == nullptr) {
    *result = nullptr;
    return job->rc;
  }
  relocate(job->entry, job->buffer, *ret, buf);
  *result = ret;
  return 0;
}

}  // namespace
}  // namespace green::patch

using green::patch::Family;

extern "C" {

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
  green::GreenletBase* self = green::patch::cooperative(Family::dns);
  if (self == nullptr) return GREEN_REAL(getaddrinfo)(node, service, hints, res);
  std::shared_ptr<green::patch::AddrInfoJob> job;
  try {
    job = std::make_shared<green::patch::AddrInfoJob>();
    job->node = green::patch::copy(node);
    job->service = green::patch::copy(service);
  } catch (...) {
    return EAI_MEMORY;
  }
  if (hints != nullptr) {
    job->hints = *hints;
    job->has_hints = true;
  }
  if (!green::patch::resolve_off_thread(*self, job)) {
    errno = EINTR;
    return EAI_SYSTEM;
  }
  *res = job->result;
  errno = job->err;
  return job->rc;
}

int getnameinfo(const struct sockaddr* addr, socklen_t addr_len, char* host, socklen_t host_len, char* serv,
                socklen_t serv_len, int flags) {
  green::GreenletBase* self = green::patch::cooperative(Family::dns);
  if (self == nullptr || addr == nullptr || addr_len > sizeof(sockaddr_storage))
    return GREEN_REAL(getnameinfo)(addr, addr_len, host, host_len, serv, serv_len, flags);
  std::shared_ptr<green::patch::NameInfoJob> job;
  try {
    job = std::make_shared<green::patch::NameInfoJob>();
    if (host != nullptr) job->host.resize(host_len);
    if (serv != nullptr) job->serv.resize(serv_len);
  } catch (...) {
    return EAI_MEMORY;
  }
  std::memcpy(&job->addr, addr, addr_len);
  job->addr_len = addr_len;
  job->flags = flags;
  if (!green::patch::resolve_off_thread(*self, job)) {
    errno = EINTR;
    return EAI_SYSTEM;
  }
  if (job->rc == 0) {
    if (host != nullptr && host_len > 0) std::memcpy(host, job->host.data(), host_len);
    if (serv != nullptr && serv_len > 0) std::memcpy(serv, job->serv.data(), serv_len);
  }
  errno = job->err;
  return job->rc;
}

int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t buflen, struct hostent** result,
                    int* h_errnop) {
  green::GreenletBase* self = green::patch::cooperative(Family::dns);
  if (self == nullptr || name == nullptr) return GREEN_REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
  return green::patch::hostent_r(*self, name, ret, buf, buflen, result, h_errnop);
}

struct hostent* gethostbyname(const char* name) {
  green::GreenletBase* self = green::patch::cooperative(Family::dns);
  if (self == nullptr || name == nullptr) return GREEN_REAL(gethostbyname)(name);
  // Per OS thread, like glibc's static result (which is per process).
  static thread_local struct {
    hostent entry;
    char buffer[16384];
  } storage;
  hostent* result = nullptr;
  int h_err = 0;
  int rc = green::patch::hostent_r(*self, name, &storage.entry, storage.buffer, sizeof(storage.buffer), &result, &h_err);
  h_errno = h_err;
  if (rc != 0 && rc != ENOENT) errno = rc;
  return result;
}

}  // extern "C"
