// crawler/demo_site.hpp: the site `green-crawl --demo` crawls, served in the same process
// by green::StreamServer on 127.0.0.1 (a kernel-chosen port).
//
// `pages` generated HTML pages (/ is page 0, then /page/N), each 3-6 KB with a title and
// about a dozen links in every form a crawler meets: absolute paths, relative paths, full
// URLs, fragments, entities, links to other hosts and schemes, a few to missing pages (404) and to
// a /private/ area that robots.txt disallows. Every page is reachable from /. Each answer
// waits a log-normal latency (median 40 ms, p99 about 250 ms, like a real site over the
// internet), and about 1% of first requests for a page answer 503, so the retries show.
// HTTP/1.1 keep-alive; every connection is a greenlet.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>

#include <green/server.hpp>

namespace crawler {

class DemoSite {
 public:
  explicit DemoSite(int pages = 10000, double median_latency = 0.040);
  ~DemoSite();
  DemoSite(const DemoSite&) = delete;
  DemoSite& operator=(const DemoSite&) = delete;

  void start();
  void stop();
  // "http://127.0.0.1:PORT/"; valid after start().
  std::string url() const;
  std::uint64_t requests() const { return requests_; }

 private:
  void serve(green::Socket& socket);
  std::string respond(const std::string& path);
  std::string page(int n) const;
  double latency();

  int pages_;
  double median_latency_;
  std::unique_ptr<green::StreamServer> server_;
  std::string origin_;  // http://127.0.0.1:PORT
  std::mt19937_64 random_;
  std::unordered_map<int, int> served_;  // page -> requests, for the first-request 503s
  std::uint64_t requests_ = 0;
};

}  // namespace crawler
