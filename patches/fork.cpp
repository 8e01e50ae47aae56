// fork: the child keeps working. Only the forking thread exists in the child; its hub's
// libev loop re-creates its kernel state (epoll set, wake-up descriptor) with
// ev_loop_fork, and greenlets of that thread, including ones waiting on descriptors or
// timers, go on running in the child. Hubs of other threads are gone with their threads,
// and so are the thread pool's workers: name resolution in a forked child runs on the
// calling thread, blocking it (dns.cpp).
#include <errno.h>
#include <ev.h>
#include <unistd.h>

#include "core/thread_state.hpp"
#include "green/hub.hpp"
#include "config.hpp"
#include "real.hpp"

extern "C" pid_t fork(void) {
  pid_t pid = GREEN_REAL(fork)();
  if (pid == 0) {
    const int saved = errno;
    green::patch::forked_child.store(true, std::memory_order_relaxed);
    if (green::detail::ThreadState* ts = green::detail::ThreadState::get_if_exists(); ts != nullptr && ts->hub)
      ev_loop_fork(ts->hub->loop());
    errno = saved;
  }
  return pid;
}
