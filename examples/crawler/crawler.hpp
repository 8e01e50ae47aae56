// crawler/crawler.hpp: the crawl itself: a green::Pool of workers around a Frontier.
//
// Each worker is a greenlet with its own Fetcher (one libcurl easy handle, reused): it
// takes a task from the frontier, fetches it, parses HTML pages for their title and links,
// feeds the links back, writes the page's JSON line, and repeats. A worker with nothing
// to take waits on the frontier's signal, which is notified when a URL is admitted, a
// request ends (its origin has a free slot again), or the crawl finishes; when only an
// origin's delay stands in the way, it waits until the delay ends.
//
// A monitor greenlet redraws the progress line and flushes the output every 100 ms.
// stop() (main() calls it on SIGINT) cancels requests in flight and every wait; run()
// returns once all workers are out. Pages cancelled in flight are not written.
#pragma once

#include <optional>

#include <green/event.hpp>
#include <green/linkable.hpp>

#include "fetcher.hpp"
#include "frontier.hpp"
#include "options.hpp"
#include "output.hpp"
#include "stats.hpp"

namespace crawler {

// Wakes waiting workers one at a time (a new URL needs one worker, not all of them).
class WorkSignal : public green::Linkable {
 public:
  void wait(std::optional<double> timeout);
  void notify(std::size_t n);
  void notify_all();
};

class Crawler {
 public:
  // Seeds come from options.seeds. `backoff` is the first retry's delay.
  Crawler(const Options& options, Output& output, double backoff = 0.25);

  // Crawls until the frontier is finished or stop() is called. Call from a greenlet
  // (the main one will do).
  void run();
  void stop();
  bool stopped() const { return stop_.is_set(); }

  const Stats& stats() const { return stats_; }
  const Frontier& frontier() const { return frontier_; }

 private:
  void work();
  std::optional<Task> next_task();
  void fetch_robots(Fetcher& fetcher, const Task& task);
  void fetch_page(Fetcher& fetcher, const Task& task);
  void monitor();

  Options options_;
  Output& output_;
  FetchConfig fetch_config_;
  Frontier frontier_;
  Stats stats_;
  WorkSignal signal_;
  green::Event stop_;
  green::Event done_;
  bool progress_line_ = false;
};

}  // namespace crawler
