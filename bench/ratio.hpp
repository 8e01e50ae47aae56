// Side-by-side comparisons: a benchmark program declares which of its benchmarks to
// compare, and ratio_main.cpp prints each ratio after the run, with the target.
//
//   GREEN_RATIO(switch_vs_fiber, "RawGreenlet switch / boost::context::fiber switch",
//               "BM_RawGreenletSwitch", "BM_FiberSwitch", green_bench::at_most(1.3));
//
// A fifth argument names a user counter to compare instead of the time per iteration.
//
// With GREEN_BENCH_RESULTS=FILE in the environment, each ratio and limit is also appended
// to FILE as one line of tab-separated key=value fields (bench/run-all reads them):
//   bench=switch_bench kind=ratio id=switch_vs_fiber label=... metric=time unit=ns
//   green=12.6 peer=11.0 ratio=1.14 green_cpu=12.5 peer_cpu=11.0 cpu_ratio=1.14 target=<= 1.3 verdict=met
//   bench=memory_bench kind=limit id=memory_per_greenlet label=... value=4.4 unit=KiB target=<= 6 verdict=met
// With --benchmark_repetitions, the figures are the medians.
#pragma once

#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <vector>

namespace green_bench {

struct Target {
  double value;
  bool at_most;  // true: ratio <= value is good; false: ratio >= value is good
};
inline Target at_most(double v) { return {v, true}; }
inline Target at_least(double v) { return {v, false}; }

struct Ratio {
  std::string id;
  std::string label;
  std::string numerator;    // benchmark name (prefix before any '/' args is enough)
  std::string denominator;
  std::optional<Target> target;
  // "time": compares real time per iteration; otherwise the named user counter.
  std::string metric = "time";
};

// An absolute figure checked against a target (RSS per greenlet, timer lateness).
struct Limit {
  std::string id;
  std::string label;
  std::string benchmark;
  std::string metric;  // a user counter of `benchmark`
  std::string unit;
  Target target;
};

std::vector<Limit>& limits();

struct RegisterLimit {
  explicit RegisterLimit(Limit l) { limits().push_back(std::move(l)); }
};

std::vector<Ratio>& ratios();

// A counter that reports nanoseconds of real time per item, for `items` items in the run.
inline benchmark::Counter ns_per(double items) {
  return benchmark::Counter(items / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

struct RegisterRatio {
  explicit RegisterRatio(Ratio r) { ratios().push_back(std::move(r)); }
};

}  // namespace green_bench

#define GREEN_RATIO(id, label, numerator, denominator, ...) \
  static ::green_bench::RegisterRatio green_ratio_##id(::green_bench::Ratio{#id, label, numerator, denominator, __VA_ARGS__})

//   GREEN_LIMIT(rss, "RSS per idle greenlet", "BM_GreenletMemory", "KiB_per_task", "KiB",
//               green_bench::at_most(6));
#define GREEN_LIMIT(id, label, benchmark, metric, unit, target) \
  static ::green_bench::RegisterLimit green_limit_##id(::green_bench::Limit{#id, label, benchmark, metric, unit, target})
