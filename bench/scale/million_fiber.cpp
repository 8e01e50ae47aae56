// The same workload as million_green.cpp on Boost.Fiber: half the fibers asleep, half
// blocked on a condition variable. Pooled fixed-size stacks (the allocator Boost.Fiber
// offers for many fibers; its default allocator maps each stack separately and runs into
// vm.max_map_count long before a million).
//   million_fiber [COUNT=1000000]
#include <boost/fiber/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {
long rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}
}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  boost::fibers::pooled_fixedsize_stack stacks(64 * 1024);
  boost::fibers::mutex mutex;
  boost::fibers::condition_variable_any release;
  bool released = false;
  std::vector<boost::fibers::fiber> fibers;
  fibers.reserve(count);
  const long before = rss_kib();
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    if (i % 2 == 0)
      fibers.emplace_back(std::allocator_arg, stacks, [] { boost::this_fiber::sleep_for(std::chrono::hours(1)); });
    else
      fibers.emplace_back(std::allocator_arg, stacks, [&] {
        std::unique_lock lock(mutex);
        release.wait(lock, [&] { return released; });
      });
  }
  boost::this_fiber::yield();  // every fiber runs until it blocks
  const double spawn_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long after = rss_kib();
  std::printf("Boost.Fiber: %ld fibers blocked in %.2f s, %.2f KiB RSS each\n", count, spawn_s,
              static_cast<double>(after - before) / count);
  std::fflush(stdout);
  std::_Exit(0);  // sleeping fibers cannot be interrupted; the measurement is done
}
