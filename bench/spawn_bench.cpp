// spawn + run + join per task: green::spawn against boost::fibers::fiber with pooled
// stacks, in batches of 1,000 so both run their tasks concurrently and then join them.
// Target (issue 2): at most 100 ns per greenlet, stacks pooled and reused warm.
#include <benchmark/benchmark.h>

#include <boost/fiber/all.hpp>
#include <green/green.hpp>

#include <vector>

#include "ratio.hpp"

namespace {

constexpr int kBatch = 1000;

void BM_GreenletSpawnJoin(benchmark::State& state) {
  std::vector<green::Greenlet<void>> batch(kBatch);
  long counter = 0;
  for (auto _ : state) {
    for (auto& g : batch) g = green::spawn([&counter] { ++counter; });
    for (auto& g : batch) g.join();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["ns_per_task"] = green_bench::ns_per(static_cast<double>(state.iterations()) * kBatch);
}
BENCHMARK(BM_GreenletSpawnJoin)->UseRealTime();

void BM_FiberSpawnJoin(benchmark::State& state) {
  boost::fibers::pooled_fixedsize_stack stacks(64 * 1024);
  std::vector<boost::fibers::fiber> batch(kBatch);
  long counter = 0;
  for (auto _ : state) {
    for (auto& f : batch) f = boost::fibers::fiber(std::allocator_arg, stacks, [&counter] { ++counter; });
    for (auto& f : batch) f.join();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["ns_per_task"] = green_bench::ns_per(static_cast<double>(state.iterations()) * kBatch);
}
BENCHMARK(BM_FiberSpawnJoin)->UseRealTime();

}  // namespace

GREEN_RATIO(spawn_vs_fiber, "spawn+run+join: greenlet / Boost.Fiber (pooled stacks)",
            "BM_GreenletSpawnJoin", "BM_FiberSpawnJoin", green_bench::at_most(1.0));
GREEN_LIMIT(spawn_ns, "spawn+run+join per greenlet", "BM_GreenletSpawnJoin", "ns_per_task", "ns",
            green_bench::at_most(100));
