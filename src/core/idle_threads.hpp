// Threads green itself parks (thread pool workers waiting for jobs, the blocking monitor).
// A hub deciding whether another OS thread could still wake it counts the process's
// threads and takes these away (see Hub::other_threads_may_wake). Two rules keep that
// from ending a hub with a false LoopExit:
// - only a thread that exists may be counted: a count for a thread not started yet, or
//   already gone, would hide a thread that can wake the hub; a parked thread therefore
//   counts itself, from its own stack;
// - every change goes through add_idle_threads, which bumps idle_generation after the
//   count changed, so a hub can tell that the count changed while it was reading the
//   process's thread count (a counted thread that ends bumps it before it is gone).
#pragma once

#include <atomic>

namespace green::detail {

inline std::atomic<int> idle_green_threads{0};
inline std::atomic<unsigned> idle_generation{0};

inline void add_idle_threads(int delta) noexcept {
  if (delta == 0) return;
  idle_green_threads.fetch_add(delta, std::memory_order_acq_rel);
  idle_generation.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace green::detail
