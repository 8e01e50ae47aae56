// main() for every benchmark program: runs the benchmarks, then prints the ratios the
// program registered (bench/ratio.hpp) with their targets, and appends them to
// $GREEN_BENCH_RESULTS when it is set.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

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
// One benchmark's figures: "time" (real time per iteration), "cpu_time", the user counters.
struct Figures {
  std::map<std::string, double> metrics;
  std::string unit;  // of the two times
  bool median = false;
};

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      // With repetitions, the median stands for the benchmark; otherwise the (last) run.
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median")
        results[run.run_name.str()] = figures(run, true);
      else if (run.run_type == Run::RT_Iteration && !results[run.run_name.str()].median)
        results[run.run_name.str()] = figures(run, false);
    }
  }

  std::map<std::string, Figures> results;

 private:
  static Figures figures(const Run& run, bool median) {
    Figures e;
    e.median = median;
    e.metrics["time"] = run.GetAdjustedRealTime();
    e.metrics["cpu_time"] = run.GetAdjustedCPUTime();
    e.unit = benchmark::GetTimeUnitString(run.time_unit);
    for (const auto& [name, counter] : run.counters) e.metrics[name] = counter.value;
    return e;
  }
};

const Figures* find(const CollectingReporter& r, const std::string& name) {
  auto it = r.results.find(name);
  if (it != r.results.end()) return &it->second;
  for (const auto& [full, entry] : r.results)  // allow the name without its arguments
    if (full.rfind(name + "/", 0) == 0) return &entry;
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

// The machine-readable copy: one line per ratio or limit, tab-separated key=value fields.
class ResultsFile {
 public:
  explicit ResultsFile(const char* program) : program_(program) {
    if (const char* path = std::getenv("GREEN_BENCH_RESULTS"); path != nullptr && *path != '\0') {
      file_ = std::fopen(path, "a");
      if (file_ == nullptr) std::perror(path);
    }
  }
  ~ResultsFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  void begin(const char* kind, const std::string& id, const std::string& label) {
    if (file_ != nullptr) std::fprintf(file_, "bench=%s\tkind=%s\tid=%s\tlabel=%s", program_, kind, id.c_str(), label.c_str());
  }
  void field(const char* key, const std::string& value) {
    if (file_ != nullptr) std::fprintf(file_, "\t%s=%s", key, value.c_str());
  }
  void field(const char* key, double value) {
    if (file_ != nullptr) std::fprintf(file_, "\t%s=%.6g", key, value);
  }
  void end() {
    if (file_ != nullptr) std::fputc('\n', file_);
  }

 private:
  const char* program_;
  std::FILE* file_ = nullptr;
};

void print_ratios(const CollectingReporter& reporter, ResultsFile& out) {
  if (ratios().empty()) return;
  std::printf("\n%-64s %10s %12s\n", "ratio (green / peer)", "value", "target");
  for (const auto& ratio : ratios()) {
    const auto* num = find(reporter, ratio.numerator);
    const auto* den = find(reporter, ratio.denominator);
    out.begin("ratio", ratio.id, ratio.label);
    if (num == nullptr || den == nullptr || !num->metrics.count(ratio.metric) || !den->metrics.count(ratio.metric)) {
      std::printf("%-64s %10s\n", ratio.label.c_str(), "(not run)");
      out.field("verdict", "not-run");
      out.end();
      continue;
    }
    const double green = num->metrics.at(ratio.metric), peer = den->metrics.at(ratio.metric);
    const double value = green / peer;
    out.field("metric", ratio.metric);
    out.field("unit", ratio.metric == "time" ? num->unit : "");
    out.field("green", green);
    out.field("peer", peer);
    out.field("ratio", value);
    if (ratio.metric == "time" && num->unit == den->unit) {
      out.field("green_cpu", num->metrics.at("cpu_time"));
      out.field("peer_cpu", den->metrics.at("cpu_time"));
      out.field("cpu_ratio", num->metrics.at("cpu_time") / den->metrics.at("cpu_time"));
    }
    if (ratio.target) {
      std::printf("%-64s %10.3f %12s  %s\n", ratio.label.c_str(), value, describe(*ratio.target).c_str(),
                  verdict(*ratio.target, value));
      out.field("target", describe(*ratio.target));
      out.field("verdict", verdict(*ratio.target, value));
    } else {
      std::printf("%-64s %10.3f\n", ratio.label.c_str(), value);
    }
    out.end();
  }
}

void print_limits(const CollectingReporter& reporter, ResultsFile& out) {
  if (limits().empty()) return;
  std::printf("\n%-64s %10s %12s\n", "figure", "value", "target");
  for (const auto& limit : limits()) {
    const auto* run = find(reporter, limit.benchmark);
    out.begin("limit", limit.id, limit.label);
    out.field("unit", limit.unit);
    if (run == nullptr || !run->metrics.count(limit.metric)) {
      std::printf("%-64s %10s\n", limit.label.c_str(), "(not run)");
      out.field("verdict", "not-run");
      out.end();
      continue;
    }
    const double value = run->metrics.at(limit.metric);
    std::printf("%-64s %10.2f %12s  %s\n", limit.label.c_str(), value,
                (describe(limit.target) + " " + limit.unit).c_str(), verdict(limit.target, value));
    out.field("value", value);
    out.field("target", describe(limit.target));
    out.field("verdict", verdict(limit.target, value));
    out.end();
  }
}

const char* program_name(const char* argv0) {
  const char* slash = std::strrchr(argv0, '/');
  return slash != nullptr ? slash + 1 : argv0;
}
}  // namespace
}  // namespace green_bench

int main(int argc, char** argv) {
  const char* program = green_bench::program_name(argv[0]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  green_bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  green_bench::ResultsFile out(program);
  green_bench::print_ratios(reporter, out);
  green_bench::print_limits(reporter, out);
  return 0;
}
