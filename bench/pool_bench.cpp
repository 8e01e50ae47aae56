// Pool and ThreadPool overheads (issue 3):
//   - Pool.imap_unordered over 10^6 trivial tasks with a pool of 100: cost per task,
//     against a 1 us budget and against spawning + joining the same greenlets by hand.
//   - ThreadPool round trip (submit a no-op from a greenlet, get it back) against the
//     same round trip through a std::thread worker fed with std::packaged_task /
//     std::future, and against std::async.
#include <benchmark/benchmark.h>
#include <green/green.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <ranges>
#include <thread>
#include <vector>

#include "ratio.hpp"

namespace {

constexpr int kTasks = 1'000'000;
constexpr int kPoolSize = 100;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void BM_PoolImapUnordered(benchmark::State& state) {
  green::Pool pool(kPoolSize);
  double total = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    long sum = 0;
    for (int x : pool.imap_unordered([](int x) { return x; }, std::views::iota(0, kTasks))) sum += x;
    total += seconds_since(start);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["ns_per_task"] = total * 1e9 / (double(kTasks) * double(state.iterations()));
}
BENCHMARK(BM_PoolImapUnordered)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same tasks spawned and joined by hand, 100 at a time: what a pool adds on top.
void BM_SpawnJoinBatches(benchmark::State& state) {
  double total = 0;
  std::vector<green::Greenlet<int>> batch;
  batch.reserve(kPoolSize);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    long sum = 0;
    for (int base = 0; base < kTasks; base += kPoolSize) {
      batch.clear();
      for (int i = 0; i < kPoolSize; ++i) batch.push_back(green::spawn([x = base + i] { return x; }));
      for (auto& g : batch) sum += g.get();
    }
    total += seconds_since(start);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["ns_per_task"] = total * 1e9 / (double(kTasks) * double(state.iterations()));
}
BENCHMARK(BM_SpawnJoinBatches)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// The budget, as a benchmark the ratio can divide by: 1000 ns per task.
void BM_OneMicrosecondBudget(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(state.iterations());
  state.counters["ns_per_task"] = 1000.0;
}
BENCHMARK(BM_OneMicrosecondBudget)->Iterations(1);

void BM_ThreadPoolRoundTrip(benchmark::State& state) {
  green::ThreadPool pool(1);
  pool.apply([] {});  // start the worker outside the timing
  for (auto _ : state) pool.submit([] {}).get();
}
BENCHMARK(BM_ThreadPoolRoundTrip)->UseRealTime();

// The peer: one worker std::thread fed through a mutex + condition variable with
// std::packaged_task, the caller (a std::thread) blocking on the std::future.
class StdWorker {
 public:
  StdWorker() : thread_([this] { run(); }) {}
  ~StdWorker() {
    {
      std::lock_guard guard(mutex_);
      stop_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  std::future<void> submit(std::function<void()> fn) {
    std::packaged_task<void()> task(std::move(fn));
    auto future = task.get_future();
    {
      std::lock_guard guard(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return future;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

void BM_StdThreadPromiseRoundTrip(benchmark::State& state) {
  StdWorker worker;
  worker.submit([] {}).get();
  for (auto _ : state) worker.submit([] {}).get();
}
BENCHMARK(BM_StdThreadPromiseRoundTrip)->UseRealTime();

// std::async starts a thread per call: the cost a thread pool exists to avoid.
void BM_StdAsyncRoundTrip(benchmark::State& state) {
  for (auto _ : state) std::async(std::launch::async, [] {}).get();
}
BENCHMARK(BM_StdAsyncRoundTrip)->UseRealTime();

}  // namespace

GREEN_RATIO(imap_vs_budget, "Pool.imap_unordered per task / 1 us budget", "BM_PoolImapUnordered",
            "BM_OneMicrosecondBudget", green_bench::at_most(1.0), "ns_per_task");
GREEN_RATIO(imap_vs_spawn, "Pool.imap_unordered per task / spawn+join per task", "BM_PoolImapUnordered",
            "BM_SpawnJoinBatches", std::nullopt, "ns_per_task");
GREEN_RATIO(threadpool_vs_std, "ThreadPool round trip / std::thread+future round trip", "BM_ThreadPoolRoundTrip",
            "BM_StdThreadPromiseRoundTrip", green_bench::at_most(2.0));
GREEN_RATIO(threadpool_vs_async, "ThreadPool round trip / std::async round trip", "BM_ThreadPoolRoundTrip",
            "BM_StdAsyncRoundTrip", green_bench::at_most(1.0));
