// crawler/frontier.hpp: which URL to fetch next, under the crawl's limits.
//
// The frontier owns the seen-set (each normalised URL is admitted once), one FIFO queue per
// origin (scheme://host[:port]), and the politeness state of each origin: requests in
// flight (never more than per_host) and the earliest time the next request may start
// (`delay` after the previous start). take() hands out a task only when its origin has a
// free slot and its delay has passed, round-robin over origins so one big site does not
// starve the others; it never hands out more than max_pages pages in total.
//
// With robots on, an origin's first task is its robots.txt; its pages wait until
// set_robots() is called, which drops the queued URLs the rules disallow (and later ones
// are checked as they are added). A robots.txt Crawl-delay longer than `delay` applies.
//
// The frontier is a plain data structure, not a greenlet primitive: the caller takes,
// finishes and waits (crawler.cpp). `now` is any monotonic clock in seconds.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "robots.hpp"
#include "url.hpp"

namespace crawler {

struct FrontierLimits {
  int per_host = 8;
  double delay = 0.0;
  long max_pages = 1000;
  int max_depth = 5;
  bool same_host = true;
  bool robots = true;
};

struct Task {
  std::string url;
  std::string origin;
  int depth = 0;
  bool robots = false;  // fetch the origin's robots.txt (url) rather than a page
};

class Frontier {
 public:
  explicit Frontier(FrontierLimits limits);

  // A seed: admitted at depth 0, and in same-host mode its host becomes one the crawl may
  // visit. Returns false if it was seen already.
  bool add_seed(const std::string& url);
  // A link found at `depth`; returns whether it was admitted (new, allowed host, not too
  // deep, not disallowed by a known robots.txt).
  bool add(const std::string& url, int depth);
  // Marks a URL seen without queueing it (where a redirect ended).
  void mark_seen(const std::string& url) { seen_.insert(url); }

  // -- for a frontier shared through Redis (shared_frontier.hpp), where the seen-set and
  // the queue of record are elsewhere and this one enforces politeness locally --
  // Whether add() would take the URL, the seen-set aside.
  bool admissible(const std::string& url, int depth) const;
  // Queues a URL claimed from the shared queue: no seen, host or depth check; false if a
  // known robots.txt disallows it.
  bool add_claimed(const std::string& url, int depth);
  void allow_host(const std::string& host) { hosts_.insert(host); }
  // URLs that set_robots() dropped from the queue since the last call.
  std::vector<std::string> take_dropped() { return std::exchange(dropped_, {}); }

  // The next task that may start at `now`, or nullopt. Then, if `retry_at` is given, it is
  // set to the earliest time a delay ends for an origin that has work and a free slot
  // (nullopt if waiting for a slot or new work is all that can help).
  std::optional<Task> take(double now, std::optional<double>* retry_at = nullptr);
  // The task ended (successfully or not); frees its origin's slot.
  void done(const Task& task);
  void set_robots(const std::string& origin, Robots robots);

  // Nothing in flight and nothing more will be handed out.
  bool finished() const;
  std::size_t in_flight() const { return in_flight_; }
  long pages_taken() const { return pages_taken_; }
  std::size_t queued() const { return queued_; }
  long disallowed() const { return disallowed_; }

 private:
  struct Origin {
    std::deque<Task> queue;
    int in_flight = 0;
    double next_start = 0.0;
    double delay = 0.0;
    enum class RobotsState : std::uint8_t { unknown, fetching, known } robots_state;
    Robots robots;
    bool in_rotation = false;
  };

  bool admit(const std::string& url, int depth, bool seed);
  void enqueue(const std::string& url, const UrlParts& parts, int depth);
  Origin& origin(const std::string& name);

  FrontierLimits limits_;
  std::unordered_set<std::string> seen_;
  std::unordered_set<std::string> hosts_;  // same-host mode: the seeds' hosts
  std::unordered_map<std::string, Origin> origins_;
  std::deque<std::string> rotation_;  // origins with queued work, round-robin
  std::size_t in_flight_ = 0;
  std::size_t queued_ = 0;
  long pages_taken_ = 0;
  long disallowed_ = 0;
  std::vector<std::string> dropped_;
};

}  // namespace crawler
