// green/fork.hpp: fork() that leaves a working hub in the child (gevent.os.fork).
//
// green::fork() forks the process; in the child, the calling thread's hub re-creates its
// event loop's kernel state (ev_loop_fork) so its greenlets, sockets and timers keep
// working, exactly as they were at the fork: a server keeps serving on both sides. Call it
// from any greenlet. Only the calling OS thread exists in the child: thread pools start
// with no workers (jobs in flight at the fork are cancelled in the child), and hubs of
// other threads are gone.
// Code that forks some other way calls reinit_after_fork() in the child.
#pragma once

#include <sys/types.h>

namespace green {

// As fork(2): the child's pid in the parent, 0 in the child; std::system_error on failure.
pid_t fork();
// In a child made without green::fork(): makes this thread's hub usable again.
void reinit_after_fork() noexcept;

}  // namespace green
