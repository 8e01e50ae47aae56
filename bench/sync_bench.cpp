// Locks: the uncontended acquire + release of green::Lock against std::mutex (the cost
// every critical section pays when nobody else wants the lock), and a contended hand-off
// between two greenlets against boost::fibers::mutex between two fibers, for information.
// Target (issue 3): uncontended green::Lock at most 2x std::mutex.
#include <benchmark/benchmark.h>

#include <boost/fiber/all.hpp>
#include <green/green.hpp>

#include <mutex>

#include "ratio.hpp"

namespace {

template <class Mutex>
void uncontended(benchmark::State& state, Mutex& mutex) {
  for (auto _ : state) {
    mutex.lock();
    benchmark::ClobberMemory();
    mutex.unlock();
  }
}

void BM_StdMutexUncontended(benchmark::State& state) {
  std::mutex mutex;
  uncontended(state, mutex);
}
BENCHMARK(BM_StdMutexUncontended);

void BM_GreenLockUncontended(benchmark::State& state) {
  green::Lock lock;
  uncontended(state, lock);
}
BENCHMARK(BM_GreenLockUncontended);

void BM_GreenRLockUncontended(benchmark::State& state) {
  green::RLock lock;
  uncontended(state, lock);
}
BENCHMARK(BM_GreenRLockUncontended);

void BM_GreenSemaphoreUncontended(benchmark::State& state) {
  green::Semaphore sem(1);
  uncontended(state, sem);
}
BENCHMARK(BM_GreenSemaphoreUncontended);

void BM_FiberMutexUncontended(benchmark::State& state) {
  boost::fibers::mutex mutex;
  uncontended(state, mutex);
}
BENCHMARK(BM_FiberMutexUncontended);

// One iteration: this side takes the lock, yields while holding it (so the partner
// queues on it), releases it (waking the partner) and yields again so the partner can
// take it: the partner does the same in turn. The second yield is there for
// boost::fibers::mutex, which lets the releaser take the lock straight back (barging), so
// without it the partner would starve; green::Lock hands the lock to the waiter anyway.
void BM_GreenLockHandoff(benchmark::State& state) {
  green::Lock lock;
  bool done = false;
  auto partner = green::spawn([&] {
    while (!done) {
      {
        std::lock_guard guard(lock);
        green::sleep(0);
      }
      green::sleep(0);
    }
  });
  green::spawn([&] {
    for (auto _ : state) {
      {
        std::lock_guard guard(lock);
        green::sleep(0);
      }
      green::sleep(0);
    }
    done = true;
  }).join();
  partner.join();
}
BENCHMARK(BM_GreenLockHandoff);

void BM_FiberMutexHandoff(benchmark::State& state) {
  boost::fibers::mutex mutex;
  bool done = false;
  boost::fibers::fiber partner([&] {
    while (!done) {
      {
        std::lock_guard guard(mutex);
        boost::this_fiber::yield();
      }
      boost::this_fiber::yield();
    }
  });
  boost::fibers::fiber([&] {
    for (auto _ : state) {
      {
        std::lock_guard guard(mutex);
        boost::this_fiber::yield();
      }
      boost::this_fiber::yield();
    }
    done = true;
  }).join();
  partner.join();
}
BENCHMARK(BM_FiberMutexHandoff);

}  // namespace

GREEN_RATIO(lock_vs_std_mutex, "green::Lock uncontended / std::mutex", "BM_GreenLockUncontended",
            "BM_StdMutexUncontended", green_bench::at_most(2));
GREEN_RATIO(rlock_vs_std_mutex, "green::RLock uncontended / std::mutex", "BM_GreenRLockUncontended",
            "BM_StdMutexUncontended", std::nullopt);
GREEN_RATIO(lock_vs_fiber_mutex, "green::Lock uncontended / boost::fibers::mutex", "BM_GreenLockUncontended",
            "BM_FiberMutexUncontended", std::nullopt);
GREEN_RATIO(handoff_vs_fiber, "Lock hand-off between greenlets / fibers::mutex between fibers",
            "BM_GreenLockHandoff", "BM_FiberMutexHandoff", std::nullopt);
