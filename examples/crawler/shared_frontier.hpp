// crawler/shared_frontier.hpp: the part of the frontier that lives in Redis (--redis), so
// that any number of green-crawl processes share one crawl.
//
// Keys, under "green-crawl:<crawl-id>:": `seen` (a set: every URL ever admitted, and
// where redirects ended), `queue` (a list of "<depth> <url>" entries), `leases` (a sorted set: entries claimed by some
// process, scored by when the claim expires, in Redis's own clock), `taken` (pages claimed
// so far, the global --max-pages count) and `hosts` (the seeds' hosts, for --same-host).
// Each step is one Lua script, so it is atomic across processes:
//   add:    SADD seen; RPUSH queue the URLs that were new;
//   claim:  first put expired leases back at the head of the queue (and give back their
//           page count), then LPOP up to n entries while taken < max_pages, leasing each;
//   done:   ZREM the lease.
// A URL is therefore claimed by one process at a time; a process that dies leaves its
// leases to expire (lease = what one fetch may take, retries included, plus a margin),
// after which another process fetches those pages. The crawl is over when the queue and
// the leases are both empty, or max_pages were taken and no lease is left.
//
// Politeness (per-host limits, delay, robots.txt) stays per process: the local Frontier
// enforces it on the entries this process claimed.
//
// A RedisClient is one hiredis connection; hiredis's blocking calls are cooperative under
// green::patch. Give each greenlet its own: two greenlets must not interleave commands on
// one connection.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace crawler {

class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  // redis://host[:port][/db]; throws std::invalid_argument naming what is wrong.
  static RedisAddress parse(const std::string& url);
};

class RedisClient {
 public:
  // Connects (and SELECTs the db); RedisError with the reason if it cannot.
  RedisClient(const RedisAddress& address, double timeout);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept;
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
  // RedisError for a connection failure or an error reply.
  Reply command(const std::vector<std::string>& args);

 private:
  redisContext* context_;
  std::string where_;
};

struct SharedEntry {
  std::string entry;  // "<depth> <url>", the queue's and the lease's member
  std::string url;
  int depth = 0;
};

class SharedFrontier {
 public:
  SharedFrontier(RedisAddress address, const std::string& crawl_id, long max_pages, double lease_seconds);

  const RedisAddress& address() const { return address_; }
  // URLs not seen before by any process are queued; returns how many.
  long add(RedisClient& redis, const std::vector<std::pair<std::string, int>>& urls);
  // Marks a URL seen by every process without queueing it (where a redirect ended).
  void mark_seen(RedisClient& redis, const std::string& url);
  void add_hosts(RedisClient& redis, const std::vector<std::string>& hosts);
  std::vector<std::string> hosts(RedisClient& redis);
  std::vector<SharedEntry> claim(RedisClient& redis, int n);
  void done(RedisClient& redis, const std::string& entry);
  bool finished(RedisClient& redis);

 private:
  std::string key(const char* name) const { return prefix_ + name; }

  RedisAddress address_;
  std::string prefix_;
  long max_pages_;
  long lease_ms_;
};

}  // namespace crawler
