// Memory per idle task: 100,000 greenlets asleep at once (default stack, guard pages on)
// against 100,000 Boost.Fiber fibers asleep with its default stack allocator, in the same
// process. Also counts the process's mappings: guard pages that cost no kernel mapping
// (MADV_GUARD_INSTALL) keep it flat; mprotect guards would need one mapping each.
// Target (issue 2): at most 6 KiB of RSS per idle greenlet.
#include <benchmark/benchmark.h>

#include <boost/fiber/all.hpp>
#include <green/green.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "ratio.hpp"

namespace {

constexpr int kTasks = 100'000;

long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

long mapping_count() {
  std::ifstream maps("/proc/self/maps");
  long n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

// Registered first so that green's figure cannot profit from heap the peer freed.
void BM_FiberMemory(benchmark::State& state) {
  for (auto _ : state) {
    const long before = rss_kib();
    boost::fibers::condition_variable_any wake;
    boost::fibers::mutex mutex;
    bool done = false;
    std::vector<boost::fibers::fiber> fibers;
    fibers.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i)
      fibers.emplace_back([&] {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return done; });
      });
    boost::this_fiber::yield();  // every fiber runs until it blocks
    const long after = rss_kib();
    state.counters["KiB_per_task"] = static_cast<double>(after - before) / kTasks;
    state.counters["mappings"] = static_cast<double>(mapping_count());
    {
      std::unique_lock lock(mutex);
      done = true;
    }
    wake.notify_all();
    for (auto& f : fibers) f.join();
  }
}
BENCHMARK(BM_FiberMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_GreenletMemory(benchmark::State& state) {
  for (auto _ : state) {
    const long before = rss_kib();
    std::vector<green::GreenletRef> sleepers;
    sleepers.reserve(kTasks);
    for (int i = 0; i < kTasks; ++i) sleepers.push_back(green::spawn([] { green::sleep(3600); }));
    green::sleep(0);  // every greenlet runs until it blocks in its sleep
    const long after = rss_kib();
    state.counters["KiB_per_task"] = static_cast<double>(after - before) / kTasks;
    state.counters["mappings"] = static_cast<double>(mapping_count());
    green::killall(sleepers);
  }
}
BENCHMARK(BM_GreenletMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

GREEN_RATIO(memory_vs_fiber, "RSS per idle task: greenlet / Boost.Fiber", "BM_GreenletMemory", "BM_FiberMemory",
            green_bench::at_most(1.0), "KiB_per_task");
GREEN_LIMIT(memory_per_greenlet, "RSS per idle greenlet, 100,000 asleep", "BM_GreenletMemory", "KiB_per_task",
            "KiB", green_bench::at_most(6));
GREEN_LIMIT(memory_mappings, "process mappings with 100,000 guarded stacks", "BM_GreenletMemory", "mappings",
            "", green_bench::at_most(1000));
