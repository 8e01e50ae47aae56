#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace crawler {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  std::size_t index = rank == 0 ? 0 : std::min(rank, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

Stats::Stats() : start_(std::chrono::steady_clock::now()) {}

double Stats::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Stats::record(const PageRecord& page) {
  ++pages_;
  bytes_ += page.bytes;
  latencies_ms_.push_back(page.elapsed_ms);
  if (page.error) {
    // The kind is the error's first word ("timeout: ...", "reset: ...").
    std::string kind = page.error->substr(0, page.error->find(':'));
    ++errors_[kind];
  } else if (page.status >= 400) {
    ++errors_["http " + std::to_string(page.status / 100) + "xx"];
  }
}

long Stats::errors() const {
  long n = 0;
  for (const auto& [kind, count] : errors_) n += count;
  return n;
}

std::string Stats::progress(long max_pages, std::size_t in_flight) const {
  double s = seconds();
  char line[160];
  std::snprintf(line, sizeof line, "green-crawl: %ld/%ld pages  %.1f pages/s  %zu in flight  %ld errors", pages_,
                max_pages, s > 0 ? static_cast<double>(pages_) / s : 0.0, in_flight, errors());
  return line;
}

std::string Stats::summary(long disallowed) const {
  double s = seconds();
  char buf[256];
  std::string out;
  std::snprintf(buf, sizeof buf, "green-crawl: %ld pages, %.1f MB in %.2f s (%.1f pages/s)\n", pages_,
                static_cast<double>(bytes_) / 1e6, s, s > 0 ? static_cast<double>(pages_) / s : 0.0);
  out += buf;
  std::snprintf(buf, sizeof buf, "  latency p50 %.1f ms, p99 %.1f ms\n", percentile(latencies_ms_, 50),
                percentile(latencies_ms_, 99));
  out += buf;
  if (errors_.empty()) {
    out += "  errors: none\n";
  } else {
    out += "  errors:";
    const char* sep = " ";
    for (const auto& [kind, count] : errors_) {
      out += sep + kind + " " + std::to_string(count);
      sep = ", ";
    }
    out += "\n";
  }
  if (robots_ > 0 || disallowed > 0)
    out += "  robots.txt: " + std::to_string(robots_) + " fetched, " + std::to_string(disallowed) +
           " URLs disallowed\n";
  if (cancelled_ > 0) out += "  stopped: " + std::to_string(cancelled_) + " requests cancelled\n";
  return out;
}

}  // namespace crawler
