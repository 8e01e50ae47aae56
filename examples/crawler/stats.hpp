// crawler/stats.hpp: counters, the live progress line and the final summary.
//
// The progress line is for a person at a terminal: it is drawn on stderr with '\r' only
// when stderr is a terminal (never into a log file or a test's pipe) and the JSON lines
// do not go to that terminal too. The summary (pages,
// bytes, errors by kind, p50/p99 latency, pages/s) goes to stderr at the end.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "output.hpp"

namespace crawler {

// Nearest-rank percentile (p in [0, 100]) of `values`; 0 for none. Sorts a copy.
double percentile(std::vector<double> values, double p);

class Stats {
 public:
  Stats();
  void record(const PageRecord& page);
  void cancelled() { ++cancelled_; }
  void robots_fetched() { ++robots_; }

  long pages() const { return pages_; }
  long errors() const;
  double seconds() const;
  const std::map<std::string, long>& errors_by_kind() const { return errors_; }

  // The live line's text (no '\r'), and the summary's lines.
  std::string progress(long max_pages, std::size_t in_flight) const;
  std::string summary(long disallowed) const;

 private:
  std::chrono::steady_clock::time_point start_;
  long pages_ = 0;
  long cancelled_ = 0;
  long robots_ = 0;
  std::size_t bytes_ = 0;
  std::vector<double> latencies_ms_;
  std::map<std::string, long> errors_;  // kind -> count
};

}  // namespace crawler
