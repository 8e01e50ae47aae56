// green/thread_pool.hpp: real OS threads for blocking or CPU-bound work
// (gevent.threadpool.ThreadPool, concurrent.futures.ThreadPoolExecutor, run_in_executor).
//
// ThreadPool(maxsize) runs jobs on up to `maxsize` OS threads, started lazily as jobs
// arrive and kept until the pool is destroyed. spawn/submit/apply_async return an
// AsyncResult<R> at once; a greenlet waiting on it blocks only itself: the worker that
// sets the result wakes the greenlet's hub through its ev_async. apply() is the blocking
// form (spawn, then get). Jobs start in FIFO order. An exception thrown by a job comes out
// of get() with its type; the job's function and captured arguments are destroyed on the
// worker before its result is set.
//
// A job submitted from a greenlet counts as outstanding work on that greenlet's hub until
// its result is set, so a greenlet waiting on it blocks instead of getting LoopExit.
//
// Destruction cancels the jobs that have not started (their results get CancelledError),
// waits for the running ones to finish, and joins every worker; that wait blocks the OS
// thread. Call join() first to wait for everything cooperatively. Each hub has a default
// pool, get_hub().threadpool(), of GREEN_THREADPOOL_SIZE threads (default 10), destroyed
// with the hub.
//
// Every worker is a real OS thread even under the patch layer's --threads mode, and the
// pool's own synchronisation uses no pthread primitive the patch layer could turn green.
//
// After fork() the child's pools have no threads: the jobs queued or running in the parent
// at the fork stay the parent's, and their results in the child get CancelledError; new
// jobs start new workers. (A fork from inside a job, to exec, leaves the child's pools
// alone: use no pool in such a child.)
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "green/async_result.hpp"

namespace green {

class Hub;

// A job or task that was cancelled before it ran (concurrent.futures.CancelledError).
class CancelledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
struct HubLink;

// One queued job: its function, its result and the hub that waits for it.
class PoolJob {
 public:
  PoolJob() = default;
  PoolJob(const PoolJob&) = delete;
  PoolJob& operator=(const PoolJob&) = delete;
  virtual ~PoolJob() = default;
  // On a worker: run the function and set the result. Never throws.
  virtual void run() noexcept = 0;
  // The job will never run: its result gets `error`.
  virtual void cancel(std::exception_ptr error) noexcept = 0;

  PoolJob* next = nullptr;           // the pool's FIFO, then its list of running jobs
  PoolJob* prev = nullptr;
  std::shared_ptr<HubLink> hub;      // the submitting hub, while it lives
};

template <class R, class F>
class PoolJobImpl final : public PoolJob {
 public:
  explicit PoolJobImpl(F&& fn) : fn_(std::move(fn)) {}
  AsyncResult<R> result;

  void run() noexcept override {
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<R>) {
        (*fn_)();
        fn_.reset();
        result.set();
      } else {
        R value = (*fn_)();
        fn_.reset();
        result.set(std::move(value));
      }
      return;
    } catch (...) {
      error = std::current_exception();
    }
    fn_.reset();
    result.set_exception(std::move(error));
  }
  void cancel(std::exception_ptr error) noexcept override {
    fn_.reset();
    if (!result.ready()) result.set_exception(std::move(error));
  }

 private:
  std::optional<F> fn_;
};
}  // namespace detail

class ThreadPool {
 public:
  // std::invalid_argument unless maxsize >= 1.
  explicit ThreadPool(std::size_t maxsize);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  // Queues fn(args...) and returns its result. std::logic_error after shutdown().
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto spawn(F&& f, Args&&... args) {
    using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
    auto body = [fn = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> R {
      return std::invoke(std::move(fn), std::move(args)...);
    };
    auto job = std::make_unique<detail::PoolJobImpl<R, decltype(body)>>(std::move(body));
    AsyncResult<R> result = job->result;
    enqueue(std::move(job));
    return result;
  }
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) {
    return spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }
  template <class F, class... Args>
  auto apply_async(F&& f, Args&&... args) {
    return spawn(std::forward<F>(f), std::forward<Args>(args)...);
  }
  // Runs fn(args...) on a worker and returns its result (or rethrows its exception); the
  // calling greenlet waits cooperatively.
  template <class F, class... Args>
  decltype(auto) apply(F&& f, Args&&... args) {
    auto result = spawn(std::forward<F>(f), std::forward<Args>(args)...);
    using R = typename decltype(result)::value_type;
    if constexpr (std::is_void_v<R>)
      result.get();
    else
      return R(result.get());
  }

  std::size_t maxsize() const noexcept;
  // Worker threads started so far (at most maxsize()).
  std::size_t threads() const noexcept;
  // Jobs queued or running.
  std::size_t pending() const noexcept;
  // Waits cooperatively until no job is queued or running; false if `timeout` passed.
  bool join(std::optional<double> timeout = {});
  // Cancels the jobs not yet started (CancelledError), waits for the running ones and
  // joins the workers, blocking the OS thread. Later submissions throw std::logic_error.
  // The destructor calls it.
  void shutdown() noexcept;

 private:
  friend class Hub;
  struct Impl;
  void enqueue(std::unique_ptr<detail::PoolJob> job);
  static ThreadPool& default_for(Hub& hub);
  std::unique_ptr<Impl> impl_;
};

}  // namespace green
