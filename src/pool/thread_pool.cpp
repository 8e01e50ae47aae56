#include "green/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/idle_threads.hpp"
#include "core/thread_state.hpp"
#include "green/hub.hpp"

namespace green {

namespace detail {
// The hub a job was submitted from. Jobs outlive neither the pool nor (through this link)
// the hub's loop: the hub clears `hub` under `lock` before its loop goes away, so a
// worker finishing a job late skips remove_external_work instead of touching a dead hub.
struct HubLink {
  SpinLock lock;
  Hub* hub = nullptr;
};

// What the pool layer keeps in each Hub (Hub::threadpool_).
struct HubPoolState {
  std::shared_ptr<HubLink> link;
  std::unique_ptr<ThreadPool> pool;  // the default pool, created on first use
  const std::shared_ptr<HubLink>& link_for(Hub& hub) {
    if (!link) {
      link = std::make_shared<HubLink>();
      link->hub = &hub;
    }
    return link;
  }
  ~HubPoolState() {
    pool.reset();  // its workers may still post to the hub
    if (!link) return;
    std::lock_guard guard(link->lock);
    link->hub = nullptr;
  }
};
}  // namespace detail

namespace {
constexpr std::size_t kDefaultThreadPoolSize = 10;  // gevent's default

std::size_t default_threadpool_size() {
  const char* text = std::getenv("GREEN_THREADPOOL_SIZE");
  if (text == nullptr || *text == '\0') return kDefaultThreadPoolSize;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < 1 || value > 100000)
    throw std::invalid_argument(std::string("green: GREEN_THREADPOOL_SIZE must be an integer from 1 to 100000, got '") +
                                text + "'");
  return static_cast<std::size_t>(value);
}
}  // namespace

// Workers sleep on a futex word (std::atomic::wait) and the queue is guarded by a spin
// lock: neither goes through pthread, so the patch layer's --threads mode, which makes
// pthread mutexes greenlet-aware on hub threads, cannot change how the pool synchronises.
namespace {
thread_local bool in_worker = false;  // this thread is running a pool job
}  // namespace

struct ThreadPool::Impl {
  explicit Impl(std::size_t maxsize) : maxsize(maxsize) {}

  const std::size_t maxsize;
  mutable detail::SpinLock lock;  // guards everything down to `workers`
  detail::PoolJob* head = nullptr;
  detail::PoolJob* tail = nullptr;
  std::size_t queued = 0;
  std::size_t started = 0;    // workers created
  std::size_t available = 0;  // workers not running a job (looking for one or asleep)
  std::size_t alive = 0;      // workers whose thread runs worker_main
  std::size_t sleeping = 0;
  bool stopping = false;
  int reported_idle = 0;      // this pool's share of detail::idle_green_threads
  std::vector<std::thread> workers;
  std::vector<std::thread::id> worker_ids;
  detail::PoolJob* running = nullptr;  // for fork(): what the child must cancel

  // Every pool, so fork() can hold their locks across the fork and reset them in the child.
  static detail::SpinLock registry_lock;
  static Impl* registry;
  Impl* registry_prev = nullptr;
  Impl* registry_next = nullptr;
  static void before_fork() noexcept;
  static void after_fork_in_parent() noexcept;
  static void after_fork_in_child() noexcept;
  void reset_in_child() noexcept;

  std::atomic<std::uint32_t> signal{0};  // the futex word sleeping workers wait on
  std::atomic<std::size_t> pending{0};   // queued + running

  // join()'s waiters: ready when nothing is pending.
  struct Idle final : Linkable {
    const Impl* impl;
    bool ready() const noexcept override { return impl->pending.load(std::memory_order_acquire) == 0; }
    void notify_if_idle() noexcept {
      std::lock_guard guard(lock());
      if (ready()) notify_all_locked(Waiter::kNotified);
    }
  } idle;

  // A hub deciding LoopExit counts the other threads that could still wake it and
  // ignores detail::idle_green_threads. A worker is idle when it runs no job and no
  // queued job is about to be taken by it: max(0, available - queued), and only as many
  // as have a thread that runs (a worker still being created or already leaving is not
  // in the process's thread count, so it must not be taken away from it).
  // Call with `lock` held after changing available, queued, started or alive.
  void update_idle() noexcept {
    const std::size_t busy = started - available;  // running a job: certainly alive
    const std::size_t parked = alive > busy ? alive - busy : 0;
    const std::size_t wanted = available > queued ? available - queued : 0;
    const int idle = static_cast<int>(std::min(parked, wanted));
    detail::add_idle_threads(idle - reported_idle);
    reported_idle = idle;
  }
  void worker_main() noexcept;
  void finish(detail::PoolJob* job) noexcept;
  void fail_all(detail::PoolJob* jobs, const std::exception_ptr& error) noexcept {
    while (jobs != nullptr) {
      detail::PoolJob* job = jobs;
      jobs = job->next;
      job->cancel(error);
      finish(job);
    }
  }
  void wake_one() noexcept {
    signal.fetch_add(1, std::memory_order_release);
    signal.notify_one();
  }
};

void ThreadPool::Impl::worker_main() noexcept {
  std::unique_lock guard(lock);
  ++alive;
  update_idle();
  for (;;) {
    while (head == nullptr && !stopping) {
      const std::uint32_t seen = signal.load(std::memory_order_acquire);
      ++sleeping;
      guard.unlock();
      signal.wait(seen, std::memory_order_acquire);
      guard.lock();
      --sleeping;
    }
    if (head == nullptr) {  // stopping, nothing left: leave the counts before the thread ends
      --alive;
      --available;
      --started;
      update_idle();
      return;
    }
    detail::PoolJob* job = head;
    head = job->next;
    if (head == nullptr) tail = nullptr;
    job->prev = nullptr;
    job->next = running;
    if (running != nullptr) running->prev = job;
    running = job;
    --queued;
    --available;
    update_idle();
    guard.unlock();
    in_worker = true;
    job->run();
    in_worker = false;
    guard.lock();
    (job->prev != nullptr ? job->prev->next : running) = job->next;
    if (job->next != nullptr) job->next->prev = job->prev;
    guard.unlock();
    finish(job);
    guard.lock();
    ++available;
    update_idle();
  }
}

detail::SpinLock ThreadPool::Impl::registry_lock;
ThreadPool::Impl* ThreadPool::Impl::registry = nullptr;

void ThreadPool::Impl::before_fork() noexcept {
  registry_lock.lock();
  for (Impl* impl = registry; impl != nullptr; impl = impl->registry_next) impl->lock.lock();
}

void ThreadPool::Impl::after_fork_in_parent() noexcept {
  for (Impl* impl = registry; impl != nullptr; impl = impl->registry_next) impl->lock.unlock();
  registry_lock.unlock();
}

void ThreadPool::Impl::after_fork_in_child() noexcept {
  const bool from_a_job = in_worker;  // the child will exec: leave everything alone
  for (Impl* impl = registry; impl != nullptr; impl = impl->registry_next) {
    if (!from_a_job) impl->reset_in_child();
    impl->lock.unlock();
  }
  registry_lock.unlock();
}

void ThreadPool::Impl::reset_in_child() noexcept {
  // The workers do not exist here: forget them without joining (destroying a joinable
  // std::thread would terminate), and fail what they held. Called with `lock` held.
  new std::vector<std::thread>(std::move(workers));  // deliberately leaked
  workers.clear();
  worker_ids.clear();
  started = available = alive = sleeping = queued = 0;
  update_idle();
  detail::PoolJob* orphans = head;
  head = tail = nullptr;
  for (detail::PoolJob* job = running; job != nullptr;) {
    detail::PoolJob* next = job->next;
    job->next = orphans;
    orphans = job;
    job = next;
  }
  running = nullptr;
  lock.unlock();
  fail_all(orphans, std::make_exception_ptr(CancelledError(
                        "green::ThreadPool: job cancelled: the process forked; the job belongs to the parent")));
  lock.lock();
}

void ThreadPool::Impl::finish(detail::PoolJob* job) noexcept {
  // The result is set before the hub stops counting the job, so the hub never sees
  // "no outstanding work" while the waiting greenlet is still unwoken.
  if (job->hub) {
    std::lock_guard guard(job->hub->lock);
    if (job->hub->hub != nullptr) job->hub->hub->remove_external_work();
  }
  delete job;
  if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) idle.notify_if_idle();
}

ThreadPool::ThreadPool(std::size_t maxsize) {
  if (maxsize < 1) throw std::invalid_argument("green::ThreadPool: maxsize must be >= 1, got 0");
  static const bool fork_handlers = [] {
    return ::pthread_atfork(&Impl::before_fork, &Impl::after_fork_in_parent, &Impl::after_fork_in_child) == 0;
  }();
  (void)fork_handlers;
  impl_ = std::make_unique<Impl>(maxsize);
  impl_->idle.impl = impl_.get();
  std::lock_guard guard(Impl::registry_lock);
  impl_->registry_next = Impl::registry;
  if (Impl::registry != nullptr) Impl::registry->registry_prev = impl_.get();
  Impl::registry = impl_.get();
}

ThreadPool::~ThreadPool() {
  shutdown();
  std::lock_guard guard(Impl::registry_lock);
  Impl& impl = *impl_;
  (impl.registry_prev != nullptr ? impl.registry_prev->registry_next : Impl::registry) = impl.registry_next;
  if (impl.registry_next != nullptr) impl.registry_next->registry_prev = impl.registry_prev;
}

std::size_t ThreadPool::maxsize() const noexcept { return impl_->maxsize; }

std::size_t ThreadPool::threads() const noexcept {
  std::lock_guard guard(impl_->lock);
  return impl_->started;
}

std::size_t ThreadPool::pending() const noexcept { return impl_->pending.load(std::memory_order_acquire); }

bool ThreadPool::join(std::optional<double> timeout) {
  if (impl_->idle.ready()) return true;
  Waiter waiter("ThreadPool.join");
  if (!impl_->idle.link_unless_ready(waiter)) return true;
  return waiter.wait(timeout) != Waiter::kTimedOut || impl_->idle.ready();
}

void ThreadPool::enqueue(std::unique_ptr<detail::PoolJob> job) {
  Impl& impl = *impl_;
  // The caller's hub, which will wait for the result (created now if the thread has none
  // yet: a get() right after would create it anyway, too late to count the job).
  Hub& hub = Hub::current();
  if (!hub.threadpool_) hub.threadpool_ = std::make_shared<detail::HubPoolState>();
  job->hub = static_cast<detail::HubPoolState*>(hub.threadpool_.get())->link_for(hub);

  bool start_worker = false;
  bool wake = false;
  {
    std::lock_guard guard(impl.lock);
    if (impl.stopping) throw std::logic_error("green::ThreadPool: submit after shutdown");
    impl.pending.fetch_add(1, std::memory_order_acq_rel);
    hub.add_external_work();
    detail::PoolJob* raw = job.release();
    if (impl.tail != nullptr)
      impl.tail->next = raw;
    else
      impl.head = raw;
    impl.tail = raw;
    ++impl.queued;
    // Each available worker takes one queued job; start another thread only when the
    // queue is longer than that and the pool may grow.
    if (impl.queued > impl.available && impl.started < impl.maxsize) {
      ++impl.started;
      ++impl.available;
      start_worker = true;
    } else if (impl.sleeping > 0) {
      wake = true;
    }
    impl.update_idle();
  }
  if (wake) impl.wake_one();
  if (!start_worker) return;
  try {
    {
      // Room first, for every worker started so far (this one included; there are never
      // more recorded than started): once the thread runs, recording it must not throw,
      // since a joinable std::thread destroyed by the unwinding would terminate.
      std::lock_guard guard(impl.lock);
      impl.worker_ids.reserve(impl.started);
      impl.workers.reserve(impl.started);
    }
    detail::RealThreadScope real_thread;  // a real OS thread even under green-run --threads
    std::thread worker([&impl] { impl.worker_main(); });
    std::lock_guard guard(impl.lock);
    impl.worker_ids.push_back(worker.get_id());
    impl.workers.push_back(std::move(worker));
  } catch (...) {
    // No thread: the job stays queued for the workers that exist. With none at all no
    // queued job would ever run: each fails with the error instead.
    const std::exception_ptr error = std::current_exception();
    detail::PoolJob* failed = nullptr;
    {
      std::lock_guard guard(impl.lock);
      --impl.started;
      --impl.available;
      if (impl.started == 0) {
        failed = impl.head;
        impl.head = impl.tail = nullptr;
        impl.queued = 0;
      }
      impl.update_idle();
    }
    impl.fail_all(failed, error);
  }
}

void ThreadPool::shutdown() noexcept {
  Impl& impl = *impl_;
  detail::PoolJob* cancelled;
  std::vector<std::thread> workers;
  {
    std::lock_guard guard(impl.lock);
    for (const std::thread::id& id : impl.worker_ids)
      if (id == std::this_thread::get_id()) {
        std::fprintf(stderr, "green::ThreadPool: destroyed or shut down from one of its own workers\n");
        std::abort();
      }
    impl.stopping = true;
    cancelled = impl.head;
    impl.head = impl.tail = nullptr;
    impl.queued = 0;
    impl.update_idle();
    workers.swap(impl.workers);
  }
  impl.fail_all(cancelled, std::make_exception_ptr(CancelledError(
                               "green::ThreadPool: job cancelled: the pool was shut down before it started")));
  impl.signal.fetch_add(1, std::memory_order_release);
  impl.signal.notify_all();
  detail::RealThreadScope real_thread;
  for (std::thread& worker : workers) worker.join();  // each left the counts as it ended
}

ThreadPool& ThreadPool::default_for(Hub& hub) {
  if (!hub.threadpool_) hub.threadpool_ = std::make_shared<detail::HubPoolState>();
  auto& state = *static_cast<detail::HubPoolState*>(hub.threadpool_.get());
  if (!state.pool) state.pool = std::make_unique<ThreadPool>(default_threadpool_size());
  return *state.pool;
}

ThreadPool& Hub::threadpool() {
  if (!is_current_thread())
    throw std::logic_error("green::Hub::threadpool: call it on the hub's own thread (get_hub().threadpool())");
  return ThreadPool::default_for(*this);
}

}  // namespace green
