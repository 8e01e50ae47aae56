// green/blocking_monitor.hpp: find the greenlet that keeps every other one waiting.
//
// A greenlet that computes for a long time, or calls a blocking function nothing patched,
// stalls its whole hub. With a limit set (set_max_blocking, or GREEN_MAX_BLOCKING_MS=N in
// the environment, read when the first hub is created), a watcher thread looks at every
// hub a few times per limit; when one has not come back to its loop for longer than the
// limit, it reports, once per stall: the thread, the running greenlet (name, id and spawn
// site: the type of the function it was spawned with), how long so far, and the greenlet's backtrace, captured by interrupting that thread with a
// signal (SIGRTMIN+4, handled with SA_RESTART). A system call the signal interrupts that
// cannot be restarted (nanosleep, poll, ...) returns EINTR once, as with any signal.
//
// Off by default. On, it costs each switch nothing beyond the counter the hub keeps anyway;
// the watcher is a real thread that sleeps between looks and never keeps a hub from
// raising LoopExit.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace green {

struct BlockingReport {
  int tid = 0;                    // the stalled hub's thread (kernel thread id)
  std::uint64_t greenlet_id = 0;  // 0: not a Greenlet (the hub, a RawGreenlet) or unknown
  std::string greenlet_name;      // "?" when the thread did not answer the signal
  std::string spawn_site;         // the type of the function it was spawned with, if known
  std::chrono::milliseconds blocked_for{0};  // at least this long (measured to the watcher's look)
  std::chrono::milliseconds limit{0};
  std::vector<std::string> backtrace;  // innermost frame first, symbolised
  // What the default handler prints on stderr.
  std::string format() const;
};

using BlockingHandler = std::function<void(const BlockingReport&)>;

// Starts the watcher (or changes its limit and handler); a zero limit stops it.
// An empty handler prints report.format() on stderr. The handler runs on the watcher
// thread. std::invalid_argument for a negative limit.
void set_max_blocking(std::chrono::milliseconds limit, BlockingHandler handler = {});
// The current limit; zero when the monitor is off.
std::chrono::milliseconds max_blocking() noexcept;

}  // namespace green
