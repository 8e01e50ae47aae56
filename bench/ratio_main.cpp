// main() for every benchmark program: runs the benchmarks, then prints the ratios the
// program registered (bench/ratio.hpp) with their targets.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>

#include "ratio.hpp"

namespace green_bench {

std::vector<Ratio>& ratios() {
  static std::vector<Ratio> all;
  return all;
}

std::vector<Limit>& limits() {
  static std::vector<Limit> all;
  return all;
}

namespace {
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto& metrics = results[run.benchmark_name()];
      metrics["time"] = run.GetAdjustedRealTime();
      for (const auto& [name, counter] : run.counters) metrics[name] = counter.value;
    }
  }
  std::map<std::string, std::map<std::string, double>> results;
};

const std::map<std::string, double>* find(const CollectingReporter& r, const std::string& name) {
  auto it = r.results.find(name);
  if (it != r.results.end()) return &it->second;
  for (const auto& [full, metrics] : r.results)  // allow the name without its arguments
    if (full.rfind(name + "/", 0) == 0) return &metrics;
  return nullptr;
}

std::string describe(const Target& target) {
  char text[32];
  std::snprintf(text, sizeof text, "%s %g", target.at_most ? "<=" : ">=", target.value);
  return text;
}

const char* verdict(const Target& target, double value) {
  return (target.at_most ? value <= target.value : value >= target.value) ? "met" : "MISSED";
}

void print_ratios(const CollectingReporter& reporter) {
  if (ratios().empty()) return;
  std::printf("\n%-64s %10s %12s\n", "ratio (green / peer)", "value", "target");
  for (const auto& ratio : ratios()) {
    const auto* num = find(reporter, ratio.numerator);
    const auto* den = find(reporter, ratio.denominator);
    if (num == nullptr || den == nullptr || !num->count(ratio.metric) || !den->count(ratio.metric)) {
      std::printf("%-64s %10s\n", ratio.label.c_str(), "(not run)");
      continue;
    }
    const double value = num->at(ratio.metric) / den->at(ratio.metric);
    if (ratio.target)
      std::printf("%-64s %10.3f %12s  %s\n", ratio.label.c_str(), value, describe(*ratio.target).c_str(),
                  verdict(*ratio.target, value));
    else
      std::printf("%-64s %10.3f\n", ratio.label.c_str(), value);
  }
}

void print_limits(const CollectingReporter& reporter) {
  if (limits().empty()) return;
  std::printf("\n%-64s %10s %12s\n", "figure", "value", "target");
  for (const auto& limit : limits()) {
    const auto* run = find(reporter, limit.benchmark);
    if (run == nullptr || !run->count(limit.metric)) {
      std::printf("%-64s %10s\n", limit.label.c_str(), "(not run)");
      continue;
    }
    const double value = run->at(limit.metric);
    std::printf("%-64s %10.2f %12s  %s\n", limit.label.c_str(), value,
                (describe(limit.target) + " " + limit.unit).c_str(), verdict(limit.target, value));
  }
}
}  // namespace
}  // namespace green_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  green_bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  green_bench::print_ratios(reporter);
  green_bench::print_limits(reporter);
  return 0;
}
