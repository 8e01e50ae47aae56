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
}  // namespace
}  // namespace green_bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  green_bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  if (green_bench::ratios().empty()) return 0;
  std::printf("\n%-60s %10s %12s  %s\n", "ratio", "value", "target", "");
  for (const auto& ratio : green_bench::ratios()) {
    const auto* num = green_bench::find(reporter, ratio.numerator);
    const auto* den = green_bench::find(reporter, ratio.denominator);
    if (num == nullptr || den == nullptr || !num->count(ratio.metric) || !den->count(ratio.metric)) {
      std::printf("%-60s %10s\n", ratio.label.c_str(), "(not run)");
      continue;
    }
    const double value = num->at(ratio.metric) / den->at(ratio.metric);
    std::string target = "";
    const char* verdict = "";
    if (ratio.target) {
      target = (ratio.target->at_most ? "<= " : ">= ") + std::to_string(ratio.target->value).substr(0, 4);
      bool ok = ratio.target->at_most ? value <= ratio.target->value : value >= ratio.target->value;
      verdict = ok ? "met" : "MISSED";
    }
    std::printf("%-60s %10.3f %12s  %s\n", ratio.label.c_str(), value, target.c_str(), verdict);
  }
  return 0;
}
