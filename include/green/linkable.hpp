// green/linkable.hpp: the one FIFO notifier and the one-shot Waiter every primitive uses.
//
// A Linkable keeps a FIFO list of LinkNodes. Notifying removes nodes from the front and
// calls their notify(); notify_one stops at the first node that accepts. A Waiter is the
// node a blocked greenlet leaves behind: its notify() schedules the greenlet on its hub
// (through the hub's ev_async when the notifier runs on another OS thread), so every
// primitive built on Linkable is safe to notify from any thread. Nothing here switches:
// woken greenlets run when their hub next drains its run queue.
//
// A Waiter wakes at most once: the first of notify, timeout or an exception thrown into
// the greenlet (kill, Timeout) wins; a primitive that handed a Waiter something it then
// could not take (the waiter was killed first) gets it back through fired()/reason().
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>

namespace green {

class GreenletBase;
class Hub;
class Linkable;

namespace detail {
// A few instructions of critical section per operation: a spin lock beats a futex here.
// The holder may be preempted inside (a notifier writing another hub's eventfd wakes that
// thread, which may take the CPU): after a short spin, yield the CPU instead of burning
// the rest of the time slice. Measured: a cross-thread ping-pong went from seconds to
// milliseconds on a loaded 2-core machine.
class SpinLock {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64)
          __builtin_ia32_pause();
        else
          std::this_thread::yield();
      }
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};
}  // namespace detail

class LinkNode {
 public:
  LinkNode() = default;
  LinkNode(const LinkNode&) = delete;
  LinkNode& operator=(const LinkNode&) = delete;
  // Called with the Linkable's lock held, maybe on another OS thread, after the node was
  // removed from the list. Must not block, switch or link the node again. Returns whether
  // it took the event. Until it returns the node still counts as linked, so an unlink()
  // racing with it (the waiter leaving on a kill) waits for the lock: a node is never
  // destroyed under its notifier.
  virtual bool notify(int reason) noexcept = 0;
  bool linked() const noexcept { return owner_.load(std::memory_order_acquire) != nullptr; }

 protected:
  ~LinkNode() = default;
  Linkable* owner() const noexcept { return owner_.load(std::memory_order_acquire); }

 private:
  friend class Linkable;
  LinkNode* prev_ = nullptr;
  LinkNode* next_ = nullptr;
  bool queued_ = false;  // in the owner's list (a notified node is out of it but still owned)
  std::atomic<Linkable*> owner_{nullptr};
};

class Linkable {
 public:
  Linkable() = default;
  Linkable(const Linkable&) = delete;
  Linkable& operator=(const Linkable&) = delete;

  // Whether a wait on this object would return at once (a dead greenlet, a set event).
  virtual bool ready() const noexcept { return false; }
  // Throws std::logic_error if the node is linked somewhere already.
  void link(LinkNode& node);
  // Links the node unless ready() already holds, atomically with respect to notifiers
  // (which change what ready() reports under the same lock). Returns whether it linked.
  bool link_unless_ready(LinkNode& node);
  // Safe whether or not the node is still linked here (it may have been notified).
  void unlink(LinkNode& node) noexcept;
  bool has_links() const noexcept;

 protected:
  ~Linkable() = default;
  detail::SpinLock& lock() const noexcept { return lock_; }
  void link_locked(LinkNode& node);
  void unlink_locked(LinkNode& node) noexcept;
  bool notify_one_locked(int reason) noexcept;
  std::size_t notify_all_locked(int reason) noexcept;
  bool empty_locked() const noexcept { return head_ == nullptr; }

 private:
  LinkNode* detach_front_locked() noexcept;
  void remove_locked(LinkNode& node) noexcept;
  bool notify_node_locked(LinkNode& node, int reason) noexcept;
  mutable detail::SpinLock lock_;
  LinkNode* head_ = nullptr;
  LinkNode* tail_ = nullptr;
};

// The one blocking step. Construct it in the waiting greenlet (it binds to the current
// greenlet), link it where the event will come from, then wait().
class Waiter final : public LinkNode {
 public:
  static constexpr int kTimedOut = -1;
  static constexpr int kNotified = 1;

  // `what` is a static description for diagnostics ("Event.wait", "Queue.get").
  // Throws std::logic_error when called from the hub or from a RawGreenlet.
  explicit Waiter(const char* what);
  ~Waiter();

  bool notify(int reason) noexcept override;
  // For diagnostics (run info, gdb): the wait is for `fd` in `direction` ("read", "write").
  void set_fd(int fd, const char* direction) noexcept {
    fd_ = fd;
    direction_ = direction;
  }
  // Blocks until notified or until `timeout` seconds pass (returns kTimedOut). Throws the
  // exception a kill or Timeout delivers; the Waiter is then unlinked by its destructor.
  int wait(std::optional<double> timeout = {});

  bool fired() const noexcept { return state_.load(std::memory_order_acquire) != 0; }
  int reason() const noexcept { return state_.load(std::memory_order_acquire); }
  const char* what() const noexcept { return what_; }
  GreenletBase& greenlet() const noexcept { return *greenlet_; }
  Hub& hub() const noexcept { return *hub_; }

 private:
  int wait_timed(double timeout);

  GreenletBase* greenlet_;
  Hub* hub_;
  std::uint64_t seq_;
  const char* what_;
  int fd_ = -1;
  const char* direction_ = nullptr;
  std::atomic<int> state_{0};
};

}  // namespace green
