// green/hub_thread.hpp: every core busy, one hub per OS thread.
//
// A hub runs on one OS thread; these put work on other threads' hubs and bring results
// back as AsyncResults, which any greenlet on any hub waits on without blocking its hub.
//
//   spawn_on(hub, fn, args...)  runs fn(args...) in a new greenlet on `hub`'s thread. The
//                               hub must stay up until the greenlet has started (a
//                               HubThread's hub does, until it is stopped).
//   HubThread                   an OS thread whose hub stays up and runs what spawn()
//                               hands it; stop() (or destruction) lets the greenlets it
//                               runs finish, then ends the thread.
//   run_in_threads(n, fn)       runs fn(i) for i in [0, n) on n new OS threads, each in its
//                               own hub's main greenlet, waits for all of them and returns
//                               their results in order; the first exception (by index) is
//                               rethrown once every thread has finished.
//
// An exception inside the work comes out of the AsyncResult's get() with its type.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "green/async_result.hpp"
#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"

namespace green {

namespace detail {
// Binds fn(args...) into a copyable task that fills `result` (std::function needs copies).
template <class R, class F, class... Args>
std::function<void()> result_task(AsyncResult<R> result, F&& f, Args&&... args) {
  auto call = std::make_shared<std::function<R()>>(
      [fn = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> R {
        return std::invoke(std::move(fn), std::move(args)...);
      });
  return [result, call] {
    try {
      if constexpr (std::is_void_v<R>) {
        (*call)();
        result.set();
      } else {
        result.set((*call)());
      }
    } catch (...) {
      result.set_exception(std::current_exception());
    }
  };
}

template <class F, class... Args>
using task_result_t = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
}  // namespace detail

template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn_on(Hub& hub, F&& f, Args&&... args) {
  using R = detail::task_result_t<F, Args...>;
  AsyncResult<R> result;
  hub.call_threadsafe([task = detail::result_task(result, std::forward<F>(f), std::forward<Args>(args)...)] {
    green::spawn(task);
  });
  return result;
}

class HubThread {
 public:
  // Starts the thread and waits until its hub is up. `name` names the OS thread (at most
  // 15 characters are kept) for debuggers and top.
  explicit HubThread(std::string name = "green-hub");
  ~HubThread();
  HubThread(const HubThread&) = delete;
  HubThread& operator=(const HubThread&) = delete;

  Hub& hub() const noexcept { return *hub_; }
  std::thread::id thread_id() const noexcept { return thread_.get_id(); }

  // Runs fn(args...) in a new greenlet on this thread's hub. std::logic_error after stop().
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto spawn(F&& f, Args&&... args) {
    using R = detail::task_result_t<F, Args...>;
    AsyncResult<R> result;
    submit(detail::result_task(result, std::forward<F>(f), std::forward<Args>(args)...));
    return result;
  }

  // Stops taking work, waits for the greenlets it runs to finish, ends the thread.
  // Idempotent; called by the destructor. Must not be called from the thread itself.
  void stop();

 private:
  void submit(std::function<void()> task);
  void main();

  std::thread thread_;
  Hub* hub_ = nullptr;
  std::mutex submit_mutex_;  // orders every submitted task before the stop request
  bool stopping_ = false;
  Event stop_requested_;
  AsyncResult<void> finished_;
  // Touched only on the hub's own thread.
  std::size_t running_ = 0;
  Event idle_;
};

namespace detail {
// Starts `count` real OS threads running body(i) and waits for all of them cooperatively.
void run_threads(int count, const std::function<void(int)>& body);
}  // namespace detail

template <class F>
  requires std::invocable<F&, int>
auto run_in_threads(int count, F fn) {
  using R = std::invoke_result_t<F&, int>;
  if constexpr (std::is_void_v<R>) {
    std::vector<std::exception_ptr> errors(count > 0 ? count : 0);
    detail::run_threads(count, [&](int i) {
      try {
        fn(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  } else {
    std::vector<std::optional<R>> slots(count > 0 ? count : 0);
    std::vector<std::exception_ptr> errors(count > 0 ? count : 0);
    detail::run_threads(count, [&](int i) {
      try {
        slots[i].emplace(fn(i));
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    std::vector<R> results;
    results.reserve(slots.size());
    for (auto& slot : slots) results.push_back(std::move(*slot));
    return results;
  }
}

}  // namespace green
