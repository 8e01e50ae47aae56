// The poll family: poll, ppoll, select, pselect, epoll_wait, epoll_pwait and the
// _FORTIFY_SOURCE names __poll_chk and __ppoll_chk.
//
// In a greenlet each call first asks the kernel without waiting (so its answer, revents
// and all, is always the kernel's own); when nothing is ready it waits cooperatively on
// libev watchers for the descriptors (any descriptor, managed or not) and the timeout,
// then asks the kernel again. A kill or green::Timeout during the wait returns -1 with
// EINTR and is raised at the next green:: call. The signal mask of ppoll, pselect and
// epoll_pwait applies only to the kernel calls, not to the cooperative wait.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "config.hpp"
#include "fd_table.hpp"
#include "green/errors.hpp"
#include "green/hub.hpp"
#include "real.hpp"

#include <ev.h>

namespace green::patch {
namespace {

constexpr short kReadEvents = POLLIN | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND;
constexpr short kWriteEvents = POLLOUT | POLLWRNORM | POLLWRBAND;

std::optional<double> from_ms(int ms) {
  if (ms < 0) return std::nullopt;
  return ms / 1e3;
}

std::optional<double> from_timespec(const timespec* t) {
  if (t == nullptr) return std::nullopt;
  return static_cast<double>(t->tv_sec) + static_cast<double>(t->tv_nsec) / 1e9;
}

void notify_waiter(struct ev_loop*, ev_io* io, int) { static_cast<Waiter*>(io->data)->notify(Waiter::kNotified); }

// A poll on a managed descriptor leaves its watcher started when it returns ("parked"),
// and the thread's next poll on that descriptor, for the same events, takes it up again.
// A watcher stopped and started again costs an epoll_ctl (libev re-adds the descriptor
// and the kernel answers EEXIST), and C libraries poll the same descriptors over and over
// (libcurl: a wake-up socketpair in every wait, the connection's socket in every request).
// A parked watcher that fires with nobody waiting is stopped there (the descriptor is
// level-triggered ready and no one is interested); close and dup2 stop it first (see
// drop_parked_watcher); a descriptor closed by another thread shows as a new generation.
// While nobody waits on it, it does not count as something that could wake the hub
// (ev_unref): a wait that nothing else can end is still LoopExit.
struct Parked {
  ev_io io{};  // inactive until first started
  struct ev_loop* loop = nullptr;
  Waiter* waiter = nullptr;  // the poll waiting on it now
  std::uint32_t generation = 0;
  bool unreferenced = false;  // active, idle, and taken out of the loop's count

  // Back in the loop's count: before it is stopped or given to a waiter.
  void reference() noexcept {
    if (unreferenced) ev_ref(loop);
    unreferenced = false;
  }
  void stop() noexcept {
    reference();
    ev_io_stop(loop, &io);
  }
  // The waiter is done with it: it stays started, idle.
  void release() noexcept {
    waiter = nullptr;
    if (ev_is_active(&io) && !unreferenced) {
      ev_unref(loop);
      unreferenced = true;
    }
  }
};

void on_parked(struct ev_loop*, ev_io* io, int) {
  auto* p = static_cast<Parked*>(io->data);
  // libev stops the watchers of a descriptor the kernel refuses before reporting EV_ERROR:
  // that stop took its count once more.
  if (!ev_is_active(io)) p->reference();
  if (p->waiter != nullptr)
    p->waiter->notify(Waiter::kNotified);
  else if (ev_is_active(io))
    p->stop();
}

// One per OS thread (a hub's watchers belong to its thread), by fd number.
class ParkedTable {
 public:
  ~ParkedTable() {
    for (Parked* p : by_fd_) {
      if (p != nullptr && ev_is_active(&p->io)) p->stop();
      delete p;
    }
  }
  // The parked watcher for `fd`, started for `events` on `loop` and given to `waiter`;
  // nullptr when the caller must use a watcher of its own.
  Parked* claim(int fd, int events, struct ev_loop* loop, Waiter& waiter) noexcept {
    FdEntry* e = managed_fd(fd);
    if (e == nullptr) return nullptr;
    const auto index = static_cast<std::size_t>(fd);
    if (index >= by_fd_.size()) {
      try {
        by_fd_.resize(std::max(index + 1, by_fd_.size() * 2), nullptr);
      } catch (...) {
        return nullptr;
      }
    }
    Parked*& p = by_fd_[index];
    if (p == nullptr) p = new (std::nothrow) Parked;
    // Another poll on this fd has it, or (never expected: the table dies before its hub)
    // it belongs to another loop.
    if (p == nullptr || p->waiter != nullptr || (p->loop != nullptr && p->loop != loop)) return nullptr;
    p->loop = loop;
    p->reference();
    const std::uint32_t generation = e->generation();
    if (ev_is_active(&p->io) && (p->generation != generation || p->io.events != events)) p->stop();
    if (!ev_is_active(&p->io)) {
      ev_io_init(&p->io, on_parked, fd, events);
      p->io.data = p;
      p->generation = generation;
      ev_io_start(loop, &p->io);
    }
    p->waiter = &waiter;
    return p;
  }
  // Before `fd` is closed or replaced: stop watching it and wake a poll waiting on it
  // (its next look at the kernel sees the change).
  void drop(int fd) noexcept {
    const auto index = static_cast<std::size_t>(fd);
    if (fd < 0 || index >= by_fd_.size() || by_fd_[index] == nullptr) return;
    Parked* p = by_fd_[index];
    if (ev_is_active(&p->io)) p->stop();
    if (p->waiter != nullptr) p->waiter->notify(Waiter::kNotified);
  }

 private:
  std::vector<Parked*> by_fd_;
};

// Set while this thread's table lives: close() reaches it without creating it, and a
// poll after the thread's teardown destroyed it goes without.
constinit thread_local ParkedTable* parked_table = nullptr;
constinit thread_local bool parked_table_gone = false;

// Created on a thread's first wait, after its hub: destroyed before it (thread_local
// objects die in reverse order), so every parked watcher is stopped on a live loop.
ParkedTable* parked_watchers() noexcept {
  if (parked_table != nullptr || parked_table_gone) return parked_table;
  struct Owner {
    ParkedTable table;
    Owner() noexcept { parked_table = &table; }
    ~Owner() {
      parked_table = nullptr;
      parked_table_gone = true;
    }
  };
  thread_local Owner owner;
  return parked_table;
}

// Waits until a watched descriptor may be ready or `timeout` passes: 0, or the errno to
// fail with (EINTR for a kill or Timeout, ENOMEM).
int wait_any(GreenletBase& self, const pollfd* fds, nfds_t n, std::optional<double> timeout) noexcept {
  bool kept_is_kill = false;
  std::exception_ptr kept;
  if (detail::has_deferred_exception(self)) kept = detail::take_deferred_exception(self, kept_is_kill);
  int err = EINTR;
  try {
    Hub& hub = get_hub();
    ParkedTable* table = parked_watchers();
    Waiter waiter("poll");
    constexpr nfds_t kInline = 8;
    ev_io inline_watchers[kInline];
    Parked* inline_claimed[kInline];
    std::unique_ptr<ev_io[]> heap;
    std::unique_ptr<Parked*[]> heap_claimed;
    ev_io* watchers = inline_watchers;
    Parked** claimed = inline_claimed;
    if (n > kInline) {
      heap.reset(new ev_io[n]);
      heap_claimed.reset(new Parked*[n]);
      watchers = heap.get();
      claimed = heap_claimed.get();
    }
    nfds_t started = 0, taken = 0;
    struct Stop {
      struct ev_loop* loop;
      ev_io* watchers;
      nfds_t& count;
      Parked** claimed;
      nfds_t& taken;
      ~Stop() {
        for (nfds_t i = 0; i < count; ++i) ev_io_stop(loop, &watchers[i]);
        for (nfds_t i = 0; i < taken; ++i) claimed[i]->release();  // parked, still started
      }
    } stop{hub.loop(), watchers, started, claimed, taken};
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].fd < 0) continue;
      // Only what poll itself would report as readiness; errors and hang-ups show up as
      // readable or writable in epoll too.
      const int events = ((fds[i].events & kReadEvents) ? EV_READ : 0) | ((fds[i].events & kWriteEvents) ? EV_WRITE : 0);
      if (events == 0) continue;
      if (table != nullptr) {
        if (Parked* p = table->claim(fds[i].fd, events, hub.loop(), waiter)) {
          claimed[taken++] = p;
          continue;
        }
      }
      ev_io& w = watchers[started];
      ev_io_init(&w, notify_waiter, fds[i].fd, events);
      w.data = &waiter;
      ev_io_start(hub.loop(), &w);
      ++started;
    }
    waiter.wait(timeout);
    err = 0;
  } catch (const GreenletExit&) {
    detail::defer_exception(self, std::current_exception(), true);
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
  } catch (...) {
    detail::defer_exception(self, std::current_exception(), false);
  }
  if (kept) detail::defer_exception(self, std::move(kept), kept_is_kill);
  return err;
}

std::optional<double> time_left(const std::optional<double>& timeout, double deadline) {
  if (!timeout) return std::nullopt;
  return std::max(0.0, deadline - monotonic_now());
}

// `ask(fds)` polls the kernel without waiting. Even without waiting, poll and select fail
// with EINTR when nothing is ready and a signal is pending. The handler has run by then; a
// greenlet's call is not one a signal interrupts, so it asks again, unless the call gave a
// signal mask (ppoll, pselect, epoll_pwait): a signal the mask lets in, pending when the
// kernel is asked, gives EINTR as it would without green. (One that arrives during the
// cooperative wait stays blocked until a descriptor is ready or the time is up.)
template <class Ask>
int cooperative_poll(GreenletBase& self, pollfd* fds, nfds_t n, std::optional<double> timeout, const sigset_t* mask,
                     Ask&& ask) noexcept {
  const double deadline = timeout ? monotonic_now() + *timeout : 0;
  for (;;) {
    int r = ask();
    if (r < 0 && errno == EINTR && mask == nullptr) continue;
    if (r != 0) return r;
    std::optional<double> left = time_left(timeout, deadline);
    if (left && *left <= 0) return 0;
    if (int err = wait_any(self, fds, n, left)) {
      errno = err;
      return -1;
    }
  }
}

int poll_impl(pollfd* fds, nfds_t n, std::optional<double> timeout, const sigset_t* mask, bool is_ppoll,
              const timespec* ts) noexcept {
  GreenletBase* self = (timeout && *timeout == 0) ? nullptr : cooperative(Family::poll);
  if (self == nullptr)
    return is_ppoll ? GREEN_REAL(ppoll)(fds, n, ts, mask)
                    : GREEN_REAL(poll)(fds, n, timeout ? static_cast<int>(std::lround(*timeout * 1e3)) : -1);
  const timespec zero{0, 0};
  return cooperative_poll(*self, fds, n, timeout, mask, [&] {
    return is_ppoll ? GREEN_REAL(ppoll)(fds, n, &zero, mask) : GREEN_REAL(poll)(fds, n, 0);
  });
}

// select and pselect: the sets are read into a pollfd list for the cooperative wait; the
// kernel's select answers every time.
int select_impl(int nfds, fd_set* r, fd_set* w, fd_set* x, std::optional<double> timeout, bool is_pselect,
                const sigset_t* mask, timeval* tv, const timespec* ts) noexcept {
  // Sets larger than FD_SETSIZE (some programs allocate their own) go to the kernel as they
  // are: correct, though not cooperative.
  GreenletBase* self = (timeout && *timeout == 0) || nfds < 0 || nfds > FD_SETSIZE ? nullptr : cooperative(Family::poll);
  if (self == nullptr)
    return is_pselect ? GREEN_REAL(pselect)(nfds, r, w, x, ts, mask) : GREEN_REAL(select)(nfds, r, w, x, tv);
  fd_set in_r, in_w, in_x;
  FD_ZERO(&in_r);
  FD_ZERO(&in_w);
  FD_ZERO(&in_x);
  pollfd fds[FD_SETSIZE];
  nfds_t n = 0;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (r && FD_ISSET(fd, r)) { FD_SET(fd, &in_r); events |= POLLIN; }
    if (w && FD_ISSET(fd, w)) { FD_SET(fd, &in_w); events |= POLLOUT; }
    if (x && FD_ISSET(fd, x)) FD_SET(fd, &in_x);
    if (events != 0) fds[n++] = pollfd{fd, events, 0};
  }
  const double start = monotonic_now();
  int result = cooperative_poll(*self, fds, n, timeout, mask, [&] {
    if (r) *r = in_r;
    if (w) *w = in_w;
    if (x) *x = in_x;
    timeval zero_tv{0, 0};
    const timespec zero_ts{0, 0};
    return is_pselect ? GREEN_REAL(pselect)(nfds, r, w, x, &zero_ts, mask) : GREEN_REAL(select)(nfds, r, w, x, &zero_tv);
  });
  const int saved = errno;
  if (tv != nullptr && timeout) {
    // Linux reports the time not slept in select's timeval.
    const double left = std::max(0.0, *timeout - (monotonic_now() - start));
    tv->tv_sec = static_cast<time_t>(left);
    tv->tv_usec = static_cast<suseconds_t>((left - static_cast<double>(tv->tv_sec)) * 1e6);
  }
  errno = saved;
  return result;
}

int epoll_impl(int epfd, epoll_event* events, int max, int ms, const sigset_t* mask, bool is_pwait) noexcept {
  GreenletBase* self = ms == 0 ? nullptr : cooperative(Family::poll);
  if (self == nullptr)
    return is_pwait ? GREEN_REAL(epoll_pwait)(epfd, events, max, ms, mask) : GREEN_REAL(epoll_wait)(epfd, events, max, ms);
  pollfd fd{epfd, POLLIN, 0};
  return cooperative_poll(*self, &fd, 1, from_ms(ms), mask, [&] {
    if (!is_pwait) return GREEN_REAL(epoll_wait)(epfd, events, max, 0);
    const int r = GREEN_REAL(epoll_pwait)(epfd, events, max, 0, mask);
    // Unlike ppoll, a zero-timeout epoll_pwait never looks at pending signals: let in what
    // the mask unblocks the way ppoll does, so that such a signal gives EINTR here too.
    if (r == 0 && mask != nullptr) {
      const timespec zero{0, 0};
      if (GREEN_REAL(ppoll)(nullptr, 0, &zero, mask) < 0 && errno == EINTR) return -1;
    }
    return r;
  });
}

}  // namespace

void drop_parked_watcher(int fd) noexcept {
  if (parked_table != nullptr) parked_table->drop(fd);
}

}  // namespace green::patch

extern "C" {

[[noreturn]] void __chk_fail(void);

int poll(struct pollfd* fds, nfds_t n, int ms) {
  return green::patch::poll_impl(fds, n, green::patch::from_ms(ms), nullptr, false, nullptr);
}

int __poll_chk(struct pollfd* fds, nfds_t n, int ms, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return poll(fds, n, ms);
}

int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* ts, const sigset_t* mask) {
  return green::patch::poll_impl(fds, n, green::patch::from_timespec(ts), mask, true, ts);
}

int __ppoll_chk(struct pollfd* fds, nfds_t n, const struct timespec* ts, const sigset_t* mask, size_t fdslen) {
  if (fdslen / sizeof(*fds) < n) __chk_fail();
  return ppoll(fds, n, ts, mask);
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* x, struct timeval* tv) {
  std::optional<double> timeout;
  if (tv != nullptr) timeout = static_cast<double>(tv->tv_sec) + static_cast<double>(tv->tv_usec) / 1e6;
  return green::patch::select_impl(nfds, r, w, x, timeout, false, nullptr, tv, nullptr);
}

int pselect(int nfds, fd_set* r, fd_set* w, fd_set* x, const struct timespec* ts, const sigset_t* mask) {
  return green::patch::select_impl(nfds, r, w, x, green::patch::from_timespec(ts), true, mask, nullptr, ts);
}

int epoll_wait(int epfd, struct epoll_event* events, int max, int ms) {
  return green::patch::epoll_impl(epfd, events, max, ms, nullptr, false);
}

int epoll_pwait(int epfd, struct epoll_event* events, int max, int ms, const sigset_t* mask) {
  return green::patch::epoll_impl(epfd, events, max, ms, mask, true);
}

}  // extern "C"
