// A million greenlets alive at once on one hub: half asleep on a timer, half blocked on a
// shared Event (a queue in the full workload). Prints spawn time and RSS per greenlet.
//   million_green [COUNT=1000000]
#include <green/green.hpp>

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
long mappings() {
  std::ifstream maps("/proc/self/maps");
  long n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}
}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  green::Event release;
  std::vector<green::Greenlet<void>> tasks;
  tasks.reserve(count);
  const long before = rss_kib();
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i) {
    if (i % 2 == 0)
      tasks.push_back(green::spawn([] { green::sleep(3600); }));
    else
      tasks.push_back(green::spawn([&release] { release.wait(); }));
  }
  green::sleep(0);  // every greenlet runs until it blocks
  const double spawn_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long after = rss_kib();
  std::printf("green: %ld greenlets blocked in %.2f s, %.2f KiB RSS each, %ld mappings\n", count, spawn_s,
              static_cast<double>(after - before) / count, mappings());
  release.set();
  green::killall(tasks);
  return 0;
}
