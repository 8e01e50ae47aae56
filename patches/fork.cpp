// fork: the child keeps working. Only the forking thread exists in the child; its hub
// re-creates its loop's kernel state (ev_loop_fork) and drops the thread pool whose
// workers did not survive (green::reinit_after_fork), so greenlets of that thread,
// including ones waiting on descriptors or timers, go on running in the child, and name
// resolution there gets a fresh pool. Hubs of other threads are gone with their threads.
#include <errno.h>
#include <unistd.h>

#include "green/fork.hpp"
#include "real.hpp"

extern "C" pid_t fork(void) {
  pid_t pid = GREEN_REAL(fork)();
  if (pid == 0) {
    const int saved = errno;
    green::reinit_after_fork();
    errno = saved;
  }
  return pid;
}
