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
//
// With --redis, the seen-set and the queue of record are a SharedFrontier: links go there,
// and a worker that finds the local frontier short of work claims as many entries as
// there are idle workers, which the local frontier then schedules politely. Each worker
// has its own Redis connection. The crawl ends when both frontiers are finished; a
// process whose pages are all claimed by others polls Redis every 200 ms until then (a
// dead process's leases come back when they expire). A page cancelled by stop() keeps
// its lease, so another process fetches it once the lease expires.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>

#include <green/event.hpp>
#include <green/linkable.hpp>

#include "fetcher.hpp"
#include "frontier.hpp"
#include "options.hpp"
#include "output.hpp"
#include "shared_frontier.hpp"
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
  std::optional<Task> next_task(RedisClient* redis);
  bool claim_shared(RedisClient& redis);
  void release_shared(RedisClient* redis, const std::string& url);
  void fetch_robots(Fetcher& fetcher, const Task& task, RedisClient* redis);
  void fetch_page(Fetcher& fetcher, const Task& task, RedisClient* redis);
  void monitor();
  void start_shared();

  Options options_;
  Output& output_;
  FetchConfig fetch_config_;
  Frontier frontier_;
  Stats stats_;
  WorkSignal signal_;
  green::Event stop_;
  green::Event done_;
  bool progress_line_ = false;
  std::unique_ptr<SharedFrontier> shared_;
  std::unordered_map<std::string, std::string> leases_;  // claimed URL -> its shared entry
  bool claiming_ = false;
};

}  // namespace crawler
