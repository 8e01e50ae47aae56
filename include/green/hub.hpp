// green/hub.hpp: one hub per OS thread, a greenlet that runs the libev loop.
//
// Blocking, for any greenlet, means: leave a Waiter where the event will come from (a
// watcher, a Linkable), switch to the hub, and be switched back when the hub runs you.
// The hub alternates between its run queue (greenlets made ready: spawned, woken,
// yielded), drained in FIFO order one pass at a time, and the libev loop, which it polls
// without blocking while greenlets are ready (at most every kPollInterval of busy run
// queue, so sleep(0) loops cost no syscall each yet I/O and timers still run) and blocks in
// when nothing is ready.
//
// When a greenlet would wait with nothing able to wake it (no ready greenlet, no active
// watcher, no other OS thread that could notify), the thread's main greenlet gets LoopExit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "green/greenlet.hpp"
#include "green/raw_greenlet.hpp"
#include "green/stats.hpp"

struct ev_loop;

namespace green {

class ThreadPool;
namespace detail {
struct HubAccess;
}

class Hub final : public RawGreenlet {
 public:
  static constexpr std::chrono::microseconds kPollInterval{250};

  // The calling thread's hub, created on first use.
  static Hub& current();
  ~Hub() override;

  struct ev_loop* loop() const noexcept { return loop_; }
  std::thread::id thread_id() const noexcept { return thread_id_; }
  bool is_current_thread() const noexcept;

  // The calling thread's default ThreadPool (defined by the pool layer).
  ThreadPool& threadpool();

  // -- used by primitives; `greenlet` must belong to this hub unless stated --
  // Suspends the current greenlet until something schedules it; throws what was thrown
  // into it meanwhile. std::logic_error when called from the hub itself.
  void suspend(GreenletBase& self, const char* what);
  // Puts the running greenlet at the back of the run queue and switches to the hub.
  void yield(GreenletBase& self);
  // Makes a waiting greenlet ready. No effect on a queued, running or dead one.
  void schedule(GreenletBase& greenlet) noexcept;
  // From any thread: makes `greenlet` ready if it still waits in wait number `seq`.
  void wake(GreenletBase& greenlet, std::uint64_t seq) noexcept;
  // From any thread: throws `error` into `greenlet` at its next switch point. A kill
  // (GreenletExit) replaces a pending timeout; nothing replaces a pending kill.
  void throw_into(GreenletBase& greenlet, std::exception_ptr error, bool is_kill = false) noexcept;

  // From any thread: runs `callback` on this hub's thread, inside the hub, on its next
  // loop iteration (asyncio's call_soon_threadsafe). The callback must not block; it may
  // spawn. The hub must outlive the call (see HubThread for a hub that stays up).
  void call_threadsafe(std::function<void()> callback);

  // Work in flight on other threads that will wake a greenlet here (thread pool jobs):
  // while it is non-zero a wait with nothing else to wake it blocks instead of LoopExit.
  void add_external_work() noexcept;
  void remove_external_work() noexcept;

  // In the child of fork(), on the thread that forked: re-creates the loop's kernel state
  // (ev_loop_fork) and the inbox lock another thread may have held. green::fork() calls it.
  void reinit_after_fork() noexcept;

  // Counts one blocking wait of kind `what` (a static description) for stats().
  void count_wait(const char* what) noexcept { waits_.count(what); }

  // Greenlets started on this hub and not yet dead.
  std::size_t live_count() const noexcept { return live_count_.get(); }
  // Switches into greenlets so far. turn_ is odd while a greenlet runs and even while the
  // hub runs its loop: the blocking monitor watches it (see blocking_monitor.hpp).
  std::uint64_t switch_count() const noexcept { return (turn_.get() + 1) / 2; }
  // Readable from any thread while the hub lives (see stats.hpp).
  HubStats stats() const;
  int tid() const noexcept { return tid_; }
  // Never the same for two hubs of one process, unlike their addresses.
  std::uint64_t serial() const noexcept { return serial_; }

  const char* diagnostic_name() const noexcept override { return "hub"; }

 private:
  friend struct detail::ThreadState;
  friend void detail::start_greenlet(GreenletBase&);
  friend void detail::start_greenlet_later(GreenletBase&, double);
  friend class GreenletBase;
  friend struct detail::HubAccess;
  friend class Waiter;
  struct Async;
  struct InboxEntry;
  Hub();

  void run() override;
  void run_ready_pass();
  void resume(GreenletBase& greenlet);
  void push_ready(GreenletBase& greenlet) noexcept;
  void drain_inbox() noexcept;
  void run_callback(std::function<void()>& callback) noexcept;
  void post(InboxEntry entry) noexcept;
  void poll_if_due();
  void wait_for_events();
  bool other_threads_may_wake() const;
  void raise_loop_exit_in_main();
  std::string describe_blocked() const;
  void start(GreenletBase& greenlet, bool later, double seconds);
  void add_live(GreenletBase& greenlet) noexcept;
  void remove_live(GreenletBase& greenlet) noexcept;
  void cancel_start(GreenletBase& greenlet) noexcept;
  void on_finished(GreenletBase& greenlet) noexcept;

  struct ev_loop* loop_ = nullptr;
  std::thread::id thread_id_;
  GreenletBase* main_;
  GreenletBase* ready_head_ = nullptr;
  GreenletBase* ready_tail_ = nullptr;
  GreenletBase* live_head_ = nullptr;
  detail::Counter live_count_;
  detail::Counter peak_live_;
  detail::Counter spawns_;
  detail::Counter turn_;
  double loop_now_ = 0;  // ev_now() after the last ev_run: a member read, not a call, for diagnostics
  detail::WaitCounts waits_;
  Hub* next_hub_ = nullptr;  // the process's list of hubs (detail::HubAccess)
  int tid_ = 0;
  std::uint64_t serial_;
  std::chrono::steady_clock::time_point last_poll_{};
  unsigned passes_since_clock_ = 0;
  GreenletBase* finished_ = nullptr;  // the greenlet that died during the last resume

  // Cross-thread wake-ups: pushed by any thread, drained by the hub.
  struct InboxEntry {
    detail::Ref<GreenletBase> greenlet;
    std::uint64_t seq;
    std::exception_ptr error;  // set: a throw_into, not a wake
    bool is_kill;
    std::function<void()> callback;  // set: a call_threadsafe (no greenlet)
  };
  std::unique_ptr<Async> async_;
  std::mutex inbox_mutex_;
  std::vector<InboxEntry> inbox_;
  std::vector<InboxEntry> inbox_spare_;
  std::atomic<bool> inbox_pending_{false};
  std::atomic<long> external_work_{0};

  std::shared_ptr<void> threadpool_;  // set by the pool layer on first use
  friend class ThreadPool;
};

// The calling thread's hub.
Hub& get_hub();

namespace detail {
// The running greenlet if it may block on its hub (not the hub itself, not a RawGreenlet,
// on a thread that has a hub); nullptr otherwise. Never creates anything.
GreenletBase* blockable_greenlet() noexcept;
// For code that must not throw (the patch layer's libc hooks): keep `error` for the
// running greenlet and raise it at its next blocking call instead.
void defer_exception(GreenletBase& self, std::exception_ptr error, bool is_kill) noexcept;
bool has_deferred_exception(const GreenletBase& self) noexcept;
// Threads that green itself starts (thread pool workers, resolvers) must be real OS
// threads even when the patch layer turns the program's pthreads into greenlets: create
// them while a RealThreadScope is alive on the creating thread.
class RealThreadScope {
 public:
  RealThreadScope() noexcept;
  ~RealThreadScope();
  RealThreadScope(const RealThreadScope&) = delete;
  RealThreadScope& operator=(const RealThreadScope&) = delete;
  static bool active() noexcept;
};
// Removes the deferred exception (to block once more without it); put it back after.
std::exception_ptr take_deferred_exception(GreenletBase& self, bool& is_kill) noexcept;
}  // namespace detail

// Suspends the current greenlet for `seconds`; sleep(0) yields to every greenlet that is
// already ready. std::invalid_argument for a negative or NaN duration.
void sleep(double seconds);

}  // namespace green
