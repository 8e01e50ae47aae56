// green/queue.hpp: queue.Queue, LifoQueue, PriorityQueue, JoinableQueue (gevent.queue).
//
// A queue hands items from putters to getters, across greenlets and across OS threads.
// What it promises:
// - Getters are served in the order they started waiting, and so are putters: a put that
//   finds getters waiting hands its item straight to the first of them (nobody can barge
//   in between), and a get that frees room in a bounded queue moves the first waiting
//   putter's item in.
// - Nothing is lost or duplicated by a kill or a timeout. A getter that times out or is
//   killed while waiting takes no item; if an item was handed to it just before the kill
//   or an enclosing green::Timeout arrived, the item goes back to the front of the queue
//   (or to the next waiting getter). A put either inserts its item and returns, or
//   throws and inserts nothing: if a getter took a waiting putter's item just before a
//   kill or Timeout arrived, put returns and the exception is raised at the greenlet's
//   next switch point.
// - Every call may come from any OS thread: waiters are woken on their own hub. A plain
//   OS thread without greenlets blocks on its own (lazily created) hub.
// - put(v, block, timeout) / get(block, timeout) follow Python: block=false or a timeout
//   that passes throws QueueFull / QueueEmpty; put_nowait / get_nowait never block. An
//   enclosing green::Timeout or a kill interrupts any wait.
// - close(): later puts throw QueueClosed; getters drain what is left, then get throws
//   QueueClosed; greenlets waiting to get or put when close() is called wake up (a waiting
//   putter throws QueueClosed and keeps its item). A range-for over a queue ends when it is
//   closed and empty:   for (auto& item : queue) use(item);
//
// Queue<T>(maxsize) is FIFO (maxsize 0: unbounded); LifoQueue<T> is LIFO;
// PriorityQueue<T, Compare> returns the smallest item by Compare first (Python's order;
// std::greater gives the largest) and equal items in insertion order; JoinableQueue<T>
// adds task_done() and join(). peek() returns a copy of the next item without taking it.
// T must be nothrow move constructible, so that a hand-off cannot fail half-way, and
// PriorityQueue's Compare must not throw. Destroy a queue only when nobody waits on it.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/linkable.hpp"

namespace green {

// get_nowait() on an empty queue, or get(true, timeout) that timed out [queue.Empty].
class QueueEmpty : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// put_nowait() on a full queue, or put(v, true, timeout) that timed out [queue.Full].
class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// put on a closed queue, or get on a closed queue that is empty [queue.ShutDown].
class QueueClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Names a queue class uses in messages and as its Waiters' descriptions (static strings).
struct QueueNames {
  const char* kind;
  const char* get;
  const char* put;
  const char* peek;
};

inline constexpr QueueNames kQueueNames{"Queue", "Queue.get", "Queue.put", "Queue.peek"};
inline constexpr QueueNames kLifoQueueNames{"LifoQueue", "LifoQueue.get", "LifoQueue.put", "LifoQueue.peek"};
inline constexpr QueueNames kPriorityQueueNames{"PriorityQueue", "PriorityQueue.get", "PriorityQueue.put",
                                                "PriorityQueue.peek"};
inline constexpr QueueNames kJoinableQueueNames{"JoinableQueue", "JoinableQueue.get", "JoinableQueue.put",
                                                "JoinableQueue.peek"};
inline constexpr QueueNames kChannelNames{"Channel", "Channel.get", "Channel.put", "Channel.peek"};

[[noreturn]] void throw_queue_empty(const QueueNames& names, const char* op, std::optional<double> waited);
[[noreturn]] void throw_queue_full(const QueueNames& names, const char* op, std::size_t maxsize,
                                   std::optional<double> waited);
[[noreturn]] void throw_queue_closed(const QueueNames& names, const char* op);
// std::invalid_argument for a negative or NaN timeout.
void check_timeout(const QueueNames& names, const char* op, std::optional<double> timeout);
// Inside a catch block: keeps the exception being handled (a kill or Timeout) for the
// greenlet's next switch point.
void defer_current_exception(GreenletBase& self) noexcept;

// JoinableQueue's count of items put and not yet marked done; join() waits for zero.
class TaskCounter final : public Linkable {
 public:
  bool ready() const noexcept override { return unfinished_.load(std::memory_order_acquire) == 0; }
  // Counted under the queue's lock before the item becomes visible, so a task_done() for
  // it can never come first.
  void add() noexcept { unfinished_.fetch_add(1, std::memory_order_relaxed); }
  // std::logic_error when nothing is unfinished.
  void done(const QueueNames& names);
  bool join(std::optional<double> timeout);
  std::size_t unfinished() const noexcept { return unfinished_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::size_t> unfinished_{0};
};

// A power-of-two ring buffer: O(1) at both ends; a pop followed by a push never allocates
// (the queue relies on that when it moves a waiting putter's item in under its lock).
template <class T>
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    while (size_ > 0) pop_back();
    release(data_, capacity_);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& front() noexcept { return data_[head_]; }
  T& back() noexcept { return data_[(head_ + size_ - 1) & (capacity_ - 1)]; }

  void push_back(T&& item) {
    if (size_ == capacity_) resize(capacity_ == 0 ? kMinCapacity : capacity_ * 2);
    std::construct_at(data_ + ((head_ + size_) & (capacity_ - 1)), std::move(item));
    ++size_;
  }
  void push_front(T&& item) {
    if (size_ == capacity_) resize(capacity_ == 0 ? kMinCapacity : capacity_ * 2);
    head_ = (head_ + capacity_ - 1) & (capacity_ - 1);
    std::construct_at(data_ + head_, std::move(item));
    ++size_;
  }
  T pop_front() noexcept {
    T item(std::move(data_[head_]));
    std::destroy_at(data_ + head_);
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
    return item;
  }
  T pop_back() noexcept {
    T* slot = &back();
    T item(std::move(*slot));
    std::destroy_at(slot);
    --size_;
    return item;
  }
  // Gives memory back after a burst; best effort, called where no slot was just promised.
  void shrink() noexcept {
    if (capacity_ > kShrinkAbove && size_ * 4 <= capacity_) {
      try {
        resize(capacity_ / 2);
      } catch (const std::bad_alloc&) {
      }
    }
  }

 private:
  static constexpr std::size_t kMinCapacity = 16;
  static constexpr std::size_t kShrinkAbove = 1024;
  static void release(T* data, std::size_t capacity) noexcept {
    if (data != nullptr) std::allocator<T>().deallocate(data, capacity);
  }
  void resize(std::size_t capacity) {
    T* data = std::allocator<T>().allocate(capacity);  // the only step that can throw
    for (std::size_t i = 0; i < size_; ++i) {
      T* from = data_ + ((head_ + i) & (capacity_ - 1));
      std::construct_at(data + i, std::move(*from));
      std::destroy_at(from);
    }
    release(data_, capacity_);
    data_ = data;
    capacity_ = capacity;
    head_ = 0;
  }

  T* data_ = nullptr;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Storage policies: push (a put), pop and front (the next get), push_front (an item given
// back by a getter that could not take it: the next get returns it).
template <class T>
class FifoStore {
 public:
  std::size_t size() const noexcept { return ring_.size(); }
  bool empty() const noexcept { return ring_.empty(); }
  const T& front() noexcept { return ring_.front(); }
  void push(T&& item) { ring_.push_back(std::move(item)); }
  void push_front(T&& item) { ring_.push_front(std::move(item)); }
  T pop() noexcept { return ring_.pop_front(); }
  void shrink() noexcept { ring_.shrink(); }

 private:
  Ring<T> ring_;
};

template <class T>
class LifoStore {
 public:
  std::size_t size() const noexcept { return ring_.size(); }
  bool empty() const noexcept { return ring_.empty(); }
  const T& front() noexcept { return ring_.back(); }
  void push(T&& item) { ring_.push_back(std::move(item)); }
  void push_front(T&& item) { ring_.push_back(std::move(item)); }
  T pop() noexcept { return ring_.pop_back(); }
  void shrink() noexcept { ring_.shrink(); }

 private:
  Ring<T> ring_;
};

template <class T, class Compare>
class PriorityStore {
 public:
  std::size_t size() const noexcept { return heap_.size(); }
  bool empty() const noexcept { return heap_.empty(); }
  const T& front() noexcept { return heap_.front().value; }
  void push(T&& item) { push_entry(std::move(item), next_++); }
  // Ahead of every item that compares equal to it.
  void push_front(T&& item) { push_entry(std::move(item), --first_); }
  T pop() noexcept {
    std::pop_heap(heap_.begin(), heap_.end(), Later{&compare_});
    T item(std::move(heap_.back().value));
    heap_.pop_back();
    return item;
  }
  void shrink() noexcept {}

 private:
  struct Entry {
    T value;
    std::int64_t seq;  // insertion order among equal items
  };
  // std heaps keep the greatest on top: "greater" here means "comes out first".
  struct Later {
    Compare* compare;
    bool operator()(const Entry& a, const Entry& b) const {
      if ((*compare)(b.value, a.value)) return true;
      if ((*compare)(a.value, b.value)) return false;
      return a.seq > b.seq;
    }
  };
  void push_entry(T&& item, std::int64_t seq) {
    heap_.push_back(Entry{std::move(item), seq});  // may reallocate: before any change
    std::push_heap(heap_.begin(), heap_.end(), Later{&compare_});
  }

  std::vector<Entry> heap_;
  Compare compare_;
  std::int64_t next_ = 0;
  std::int64_t first_ = 0;
};

// The parts of a queue that do not depend on T. Every field is guarded by the Linkable's
// lock, whose one FIFO list holds the waiting greenlets. Getters and putters never wait
// at the same time (getters wait only while nothing is stored and no putter waits;
// putters only while the queue is full, or no getter waits on a Channel), so one list
// serves both, and the counters say which kind it holds.
class QueueCore : public Linkable {
 public:
  static constexpr int kClosed = 2;  // Waiter reason: close() woke the waiter
  enum class Role : unsigned char { get, peek, put };

  QueueCore(const QueueNames& names, std::size_t capacity, std::size_t maxsize) noexcept
      : names_(names), capacity_(capacity), maxsize_(maxsize) {}

  using Linkable::lock;
  using Linkable::notify_all_locked;
  using Linkable::notify_one_locked;

  void link_waiter_locked(LinkNode& node, Role role) {
    link_locked(node);
    ++(role == Role::put ? putters_ : readers_);
  }
  void unlink_waiter_locked(LinkNode& node, Role role) noexcept {
    if (!node.linked()) return;  // notified: notify() already counted it out
    unlink_locked(node);
    waiter_left_locked(role);
  }
  void waiter_left_locked(Role role) noexcept { --(role == Role::put ? putters_ : readers_); }

  const QueueNames& names_;
  const std::size_t capacity_;  // items stored before put waits: SIZE_MAX unbounded, 0 rendezvous
  const std::size_t maxsize_;
  std::atomic<bool> closed_{false};
  std::size_t readers_ = 0;  // waiting getters and peekers
  std::size_t putters_ = 0;
  LinkNode* chosen_ = nullptr;       // the node the last notify_one_locked woke
  TaskCounter* tasks_ = nullptr;     // JoinableQueue's counter
};

// A waiting getter, peeker or putter: lives in the waiting greenlet's frame. The notifier
// moves the item in or out under the queue's lock, right after notify() accepted.
template <class T>
struct QueueNode final : LinkNode {
  QueueNode(QueueCore& queue, QueueCore::Role role, const char* what, T* offered = nullptr)
      : waiter(what), queue(queue), role(role), offered(offered) {}

  bool notify(int reason) noexcept override {
    queue.waiter_left_locked(role);
    if (!waiter.notify(reason)) return false;  // timed out, already woken, or being killed
    queue.chosen_ = this;
    return true;
  }

  Waiter waiter;
  QueueCore& queue;
  const QueueCore::Role role;
  T* const offered;           // put: the caller's item
  std::optional<T> received;  // get, peek: the item handed over
  std::exception_ptr error;   // peek: copying the item failed
};

template <class T, class Store>
class BasicQueue : protected QueueCore {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "green queues need a nothrow move constructible T, so that a hand-off cannot fail half-way");
  using Node = QueueNode<T>;

 public:
  using value_type = T;

  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;

  // Waits (block, up to `timeout` seconds) for room or a getter. QueueFull when it cannot
  // wait or the timeout passes, QueueClosed on a closed queue.
  void put(T item, bool block = true, std::optional<double> timeout = {}) {
    send(item, block, timeout, block ? "put" : "put_nowait");
  }
  void put_nowait(T item) { send(item, false, {}, "put_nowait"); }
  // put(v, 0.5) would read 0.5 as `block`: spell put(v, true, 0.5).
  template <class U, class A>
    requires(std::is_arithmetic_v<A> && !std::is_same_v<A, bool>)
  void put(U&&, A) = delete;

  // Waits for an item. QueueEmpty when it cannot wait or the timeout passes, QueueClosed
  // once the queue is closed and empty.
  T get(bool block = true, std::optional<double> timeout = {}) {
    const char* op = block ? "get" : "get_nowait";
    std::optional<T> item;
    if (!receive(Role::get, block, timeout, op, item)) throw_queue_closed(names_, op);
    return std::move(*item);
  }
  T get_nowait() { return get(false); }
  template <class A>
    requires(std::is_arithmetic_v<A> && !std::is_same_v<A, bool>)
  T get(A) = delete;  // get(0.5) would read 0.5 as `block`: spell get(true, 0.5)

  std::size_t qsize() const noexcept {
    std::lock_guard guard(lock());
    return store_.size();
  }
  bool empty() const noexcept { return qsize() == 0; }
  std::size_t maxsize() const noexcept { return maxsize_; }

  // Wakes every waiter (see the contract at the top of the file). Idempotent.
  void close() noexcept {
    std::lock_guard guard(lock());
    if (closed_.load(std::memory_order_relaxed)) return;
    closed_.store(true, std::memory_order_release);
    notify_all_locked(kClosed);
  }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // Greenlets waiting to get (or peek) / to put, now.
  std::size_t waiting_getters() const noexcept {
    std::lock_guard guard(lock());
    return readers_;
  }
  std::size_t waiting_putters() const noexcept {
    std::lock_guard guard(lock());
    return putters_;
  }

  // A range-for gets items until the queue is closed and empty.
  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    T& operator*() const { return *item_; }
    iterator& operator++() {
      item_.reset();
      queue_->receive(Role::get, true, std::nullopt, "get", item_);
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.item_; }

   private:
    friend class BasicQueue;
    explicit iterator(BasicQueue* queue) : queue_(queue) { ++*this; }
    BasicQueue* queue_ = nullptr;
    mutable std::optional<T> item_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 protected:
  // maxsize 0 is unbounded; `rendezvous` stores nothing (Channel).
  BasicQueue(const QueueNames& names, std::size_t maxsize, bool rendezvous = false)
      : QueueCore(names, rendezvous ? 0 : (maxsize == 0 ? std::numeric_limits<std::size_t>::max() : maxsize),
                  maxsize) {}
  ~BasicQueue() = default;

  bool full_impl() const noexcept { return maxsize_ > 0 && qsize() >= maxsize_; }

  T peek_impl(bool block, std::optional<double> timeout, const char* op)
    requires std::is_copy_constructible_v<T>
  {
    std::optional<T> item;
    if (!receive(Role::peek, block, timeout, op, item)) throw_queue_closed(names_, op);
    return std::move(*item);
  }

  std::ptrdiff_t balance() const noexcept {
    std::lock_guard guard(lock());
    return static_cast<std::ptrdiff_t>(putters_) - static_cast<std::ptrdiff_t>(readers_);
  }

 private:
  void count_task() noexcept {
    if (tasks_ != nullptr) tasks_->add();
  }
  Node& chosen() const noexcept { return *static_cast<Node*>(chosen_); }

  // Hands `item` to the first waiting getter (peekers before it get a copy) or stores it
  // if there is room. False: the caller must wait; `item` is untouched.
  bool offer_locked(T& item) {
    if (deliver_locked(item)) {
      count_task();
      return true;
    }
    if (store_.size() < capacity_) {
      store_.push(std::move(item));
      count_task();
      return true;
    }
    return false;
  }

  bool deliver_locked(T& item) noexcept {
    while (readers_ > 0 && notify_one_locked(Waiter::kNotified)) {
      Node& reader = chosen();
      if (reader.role == Role::get) {
        reader.received.emplace(std::move(item));
        return true;
      }
      if constexpr (std::is_copy_constructible_v<T>) {
        try {
          reader.received.emplace(item);
        } catch (...) {
          reader.error = std::current_exception();
        }
      }
    }
    return false;
  }

  // An item a getter was handed but could not take (killed, timed out): the next getter
  // gets it, else it goes back to the front.
  void give_back_locked(T&& item) noexcept {
    if (!deliver_locked(item)) store_.push_front(std::move(item));
  }

  // Room was made: move the first waiting putters' items in, in their order.
  void refill_locked() noexcept {
    while (putters_ > 0 && store_.size() < capacity_ && notify_one_locked(Waiter::kNotified)) {
      store_.push(std::move(*chosen().offered));  // after a pop: never allocates
      count_task();
    }
  }

  // Fills `out` (empty on entry) with the next item; false when there is none.
  bool take_locked(Role role, std::optional<T>& out) {
    if (!store_.empty()) {
      if (role == Role::peek) {
        if constexpr (std::is_copy_constructible_v<T>) {
          out.emplace(store_.front());
          return true;
        }
      }
      out.emplace(store_.pop());
      if (putters_ > 0)
        refill_locked();
      else
        store_.shrink();
      return true;
    }
    if (role == Role::get && putters_ > 0 && notify_one_locked(Waiter::kNotified)) {
      out.emplace(std::move(*chosen().offered));  // rendezvous
      return true;
    }
    return false;
  }

  // The timeout goes by reference: passed by value, its byte-sized flag is stored and
  // reloaded as part of a word, a store-forwarding stall that cost a third of a hand-off.
  void send(T& item, bool block, const std::optional<double>& timeout, const char* op) {
    {
      std::lock_guard guard(lock());
      if (!closed_.load(std::memory_order_relaxed) && offer_locked(item)) return;
    }
    if (closed()) throw_queue_closed(names_, op);
    if (!block) throw_queue_full(names_, op, maxsize_, std::nullopt);
    check_timeout(names_, op, timeout);
    // Slow path: the Waiter is made outside the spin lock (it may create the thread's hub).
    Node node(*this, Role::put, names_.put, &item);
    // Decided under the lock: once it is released, a getter on another thread may take the
    // item and unlink the node before we look, and node.linked() would read as "closed".
    bool linked = false;
    {
      std::lock_guard guard(lock());
      if (closed_.load(std::memory_order_relaxed)) {
        // fall through to the throw below, outside the lock
      } else if (offer_locked(item)) {
        return;
      } else {
        link_waiter_locked(node, Role::put);
        linked = true;
      }
    }
    if (!linked) throw_queue_closed(names_, op);
    int reason;
    try {
      reason = node.waiter.wait(timeout);
    } catch (...) {
      bool taken;
      {
        std::lock_guard guard(lock());  // a getter on another thread may still be taking it
        unlink_waiter_locked(node, Role::put);
        taken = node.waiter.reason() == Waiter::kNotified;
      }
      if (!taken) throw;  // the item stays with the caller
      // A getter took the item before the kill or Timeout arrived: the put happened. The
      // exception is raised at this greenlet's next switch point instead.
      defer_current_exception(node.waiter.greenlet());
      return;
    }
    {
      std::lock_guard guard(lock());
      unlink_waiter_locked(node, Role::put);
    }
    if (reason == Waiter::kNotified) return;
    if (reason == kClosed) throw_queue_closed(names_, op);
    throw_queue_full(names_, op, maxsize_, timeout);
  }

  // Fills `out` (empty on entry); false: the queue is closed and empty.
  bool receive(Role role, bool block, const std::optional<double>& timeout, const char* op, std::optional<T>& out) {
    {
      std::lock_guard guard(lock());
      if (take_locked(role, out)) return true;
    }
    if (closed()) return recheck_closed(role, out);
    if (!block) throw_queue_empty(names_, op, std::nullopt);
    check_timeout(names_, op, timeout);
    Node node(*this, role, role == Role::get ? names_.get : names_.peek);
    bool linked = false;  // under the lock, as in send(): a putter may hand over at once
    {
      std::lock_guard guard(lock());
      if (take_locked(role, out)) return true;
      if (!closed_.load(std::memory_order_relaxed)) {
        link_waiter_locked(node, role);
        linked = true;
      }
    }
    if (!linked) return recheck_closed(role, out);
    int reason;
    try {
      reason = node.waiter.wait(timeout);
    } catch (...) {
      std::lock_guard guard(lock());
      unlink_waiter_locked(node, role);
      if (role == Role::get && node.received) give_back_locked(std::move(*node.received));
      throw;
    }
    {
      std::lock_guard guard(lock());  // the putter may still be handing over
      unlink_waiter_locked(node, role);
    }
    if (node.received) {
      out.emplace(std::move(*node.received));
      return true;
    }
    if (node.error) std::rethrow_exception(node.error);
    if (reason == kClosed) return recheck_closed(role, out);
    throw_queue_empty(names_, op, timeout);
  }

  // Closed: an item given back by a killed getter may still be there to drain.
  bool recheck_closed(Role role, std::optional<T>& out) {
    std::lock_guard guard(lock());
    return take_locked(role, out);
  }

  Store store_;
};

}  // namespace detail

template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::FifoStore<T>>;

 public:
  explicit Queue(std::size_t maxsize = 0) : Base(detail::kQueueNames, maxsize) {}

  bool full() const noexcept { return this->full_impl(); }
  // A copy of the next item, left in the queue; waits like get().
  T peek(bool block = true, std::optional<double> timeout = {}) { return this->peek_impl(block, timeout, "peek"); }
  T peek_nowait() { return this->peek_impl(false, {}, "peek_nowait"); }
  template <class A>
    requires(std::is_arithmetic_v<A> && !std::is_same_v<A, bool>)
  T peek(A) = delete;  // spell peek(true, 0.5)

 protected:
  Queue(const detail::QueueNames& names, std::size_t maxsize) : Base(names, maxsize) {}
};

template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::LifoStore<T>>;

 public:
  explicit LifoQueue(std::size_t maxsize = 0) : Base(detail::kLifoQueueNames, maxsize) {}

  bool full() const noexcept { return this->full_impl(); }
  T peek(bool block = true, std::optional<double> timeout = {}) { return this->peek_impl(block, timeout, "peek"); }
  T peek_nowait() { return this->peek_impl(false, {}, "peek_nowait"); }
  template <class A>
    requires(std::is_arithmetic_v<A> && !std::is_same_v<A, bool>)
  T peek(A) = delete;
};

template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::PriorityStore<T, Compare>> {
  using Base = detail::BasicQueue<T, detail::PriorityStore<T, Compare>>;

 public:
  explicit PriorityQueue(std::size_t maxsize = 0) : Base(detail::kPriorityQueueNames, maxsize) {}

  bool full() const noexcept { return this->full_impl(); }
  T peek(bool block = true, std::optional<double> timeout = {}) { return this->peek_impl(block, timeout, "peek"); }
  T peek_nowait() { return this->peek_impl(false, {}, "peek_nowait"); }
  template <class A>
    requires(std::is_arithmetic_v<A> && !std::is_same_v<A, bool>)
  T peek(A) = delete;
};

// A FIFO Queue that counts items put and not yet marked done [multiprocessing.JoinableQueue,
// gevent.queue.JoinableQueue]: each successful put adds one, task_done() removes one,
// join() waits until none is left.
template <class T>
class JoinableQueue : public Queue<T> {
 public:
  explicit JoinableQueue(std::size_t maxsize = 0) : Queue<T>(detail::kJoinableQueueNames, maxsize) {
    this->tasks_ = &counter_;
  }

  // std::logic_error when called more times than items were put.
  void task_done() { counter_.done(detail::kJoinableQueueNames); }
  // Returns whether every item put so far was marked done, waiting up to `timeout`.
  bool join(std::optional<double> timeout = {}) { return counter_.join(timeout); }
  std::size_t unfinished_tasks() const noexcept { return counter_.unfinished(); }

 private:
  detail::TaskCounter counter_;
};

}  // namespace green
