// Side-by-side comparisons: a benchmark program declares which of its benchmarks to
// compare, and ratio_main.cpp prints each ratio after the run, with the target.
//
//   GREEN_RATIO(switch_vs_fiber, "RawGreenlet switch / boost::context::fiber switch",
//               "BM_RawGreenletSwitch", "BM_FiberSwitch", green_bench::at_most(1.3));
#pragma once

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
  std::string label;
  std::string numerator;    // benchmark name (prefix before any '/' args is enough)
  std::string denominator;
  std::optional<Target> target;
  // "time": compares real time per iteration; otherwise the named user counter.
  std::string metric = "time";
};

std::vector<Ratio>& ratios();

struct RegisterRatio {
  explicit RegisterRatio(Ratio r) { ratios().push_back(std::move(r)); }
};

}  // namespace green_bench

#define GREEN_RATIO(id, label, numerator, denominator, ...) \
  static ::green_bench::RegisterRatio green_ratio_##id(::green_bench::Ratio{label, numerator, denominator, __VA_ARGS__})
