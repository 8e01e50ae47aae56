#include "crawler.hpp"

#include <unistd.h>

#include <chrono>
#include <limits>
#include <cstdio>
#include <mutex>
#include <vector>

#include <green/greenlet.hpp>
#include <green/hub.hpp>
#include <green/pool.hpp>

#include "html.hpp"
#include "url.hpp"

namespace crawler {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

FrontierLimits limits_of(const Options& o) {
  // With Redis, max_pages counts across processes: the shared frontier enforces it.
  long max_pages = o.redis_url.empty() ? o.max_pages : std::numeric_limits<long>::max();
  return FrontierLimits{o.per_host, o.delay, max_pages, o.depth, o.same_host, o.robots};
}

// How long a claimed page may take before other processes may fetch it: every attempt
// timing out, every backoff at its cap, and a margin.
double lease_seconds(const Options& o) {
  return o.timeout * (o.retries + 1) + 10.0 * o.retries + 10.0;
}

}  // namespace

void WorkSignal::wait(std::optional<double> timeout) {
  // Workers and notifiers share one OS thread: nothing runs between the caller's check of
  // the frontier and this link, so no wake-up can be lost.
  green::Waiter waiter("green-crawl frontier");
  link(waiter);
  waiter.wait(timeout);
}

void WorkSignal::notify(std::size_t n) {
  std::lock_guard guard(lock());
  while (n-- > 0 && notify_one_locked(green::Waiter::kNotified)) {
  }
}

void WorkSignal::notify_all() {
  std::lock_guard guard(lock());
  notify_all_locked(green::Waiter::kNotified);
}

Crawler::Crawler(const Options& options, Output& output, double backoff)
    : options_(options), output_(output), frontier_(limits_of(options)) {
  fetch_config_.user_agent = options.user_agent;
  fetch_config_.timeout = options.timeout;
  fetch_config_.retries = options.retries;
  fetch_config_.backoff = backoff;
  fetch_config_.stop = &stop_;
  if (!options.redis_url.empty())
    shared_ = std::make_unique<SharedFrontier>(RedisAddress::parse(options.redis_url), options.crawl_id,
                                               options.max_pages, lease_seconds(options));
  else
    for (const std::string& seed : options.seeds) frontier_.add_seed(seed);
  // The line is redrawn in place: not into a file, nor over JSON lines on the same terminal.
  bool lines_on_terminal = (options.output.empty() || options.output == "-") && ::isatty(STDOUT_FILENO);
  progress_line_ = !options.quiet && ::isatty(STDERR_FILENO) && !lines_on_terminal;
}

void Crawler::start_shared() {
  RedisClient redis(shared_->address(), options_.timeout);
  std::vector<std::string> hosts;
  std::vector<std::pair<std::string, int>> seeds;
  for (const std::string& seed : options_.seeds) {
    if (auto parts = split_url(seed)) hosts.push_back(parts->host);
    seeds.emplace_back(seed, 0);
  }
  if (options_.same_host) shared_->add_hosts(redis, hosts);
  for (const std::string& host : shared_->hosts(redis)) frontier_.allow_host(host);
  shared_->add(redis, seeds);
}

void Crawler::run() {
  if (shared_) start_shared();
  auto monitor = green::spawn([this] { this->monitor(); });
  // Workers live for the whole crawl, each with its own connections (a task per greenlet
  // would drop them). More workers than pages would only wait.
  long n = std::min<long>(options_.concurrency, options_.max_pages);
  green::Pool pool(static_cast<std::size_t>(n));
  std::vector<green::GreenletRef> workers;
  for (long i = 0; i < n; ++i) workers.push_back(pool.spawn([this] { work(); }));
  pool.join();
  done_.set();
  monitor.join();
  output_.flush();
  for (const auto& w : workers) w.get();  // a worker's unexpected exception is the crawl's
}

void Crawler::stop() {
  stop_.set();
  signal_.notify_all();
}

void Crawler::monitor() {
  double last_draw = 0;
  while (!done_.wait(0.1)) {
    output_.flush();
    if (progress_line_ && now() - last_draw >= 0.25) {
      last_draw = now();
      std::fprintf(stderr, "\r%s\x1b[K", stats_.progress(options_.max_pages, frontier_.in_flight()).c_str());
    }
  }
  if (progress_line_) std::fprintf(stderr, "\r\x1b[K");
}

bool Crawler::claim_shared(RedisClient& redis) {
  long idle = options_.concurrency - static_cast<long>(frontier_.in_flight() + frontier_.queued());
  if (claiming_ || idle <= 0) return false;
  claiming_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{claiming_};
  auto entries = shared_->claim(redis, static_cast<int>(idle));
  if (entries.empty()) return false;
  for (const std::string& host : shared_->hosts(redis)) frontier_.allow_host(host);
  for (auto& e : entries) {
    if (frontier_.add_claimed(e.url, e.depth))
      leases_[e.url] = std::move(e.entry);
    else
      shared_->done(redis, e.entry);  // disallowed here: nobody will fetch it
  }
  signal_.notify(entries.size());
  return true;
}

void Crawler::release_shared(RedisClient* redis, const std::string& url) {
  auto it = leases_.find(url);
  if (it == leases_.end()) return;
  std::string entry = std::move(it->second);
  leases_.erase(it);
  shared_->done(*redis, entry);
}

std::optional<Task> Crawler::next_task(RedisClient* redis) {
  while (!stopped()) {
    std::optional<double> retry_at;
    if (auto task = frontier_.take(now(), &retry_at)) return task;
    if (shared_) {
      if (claim_shared(*redis)) continue;
      if (frontier_.finished() && !claiming_ && shared_->finished(*redis)) {
        signal_.notify_all();
        return std::nullopt;
      }
      // Other processes hold the remaining pages: look again soon.
      signal_.wait(retry_at ? std::max(0.0, std::min(*retry_at - now(), 0.2)) : 0.2);
      continue;
    }
    if (frontier_.finished()) {
      signal_.notify_all();  // let the other waiting workers see it too
      return std::nullopt;
    }
    std::optional<double> timeout;
    if (retry_at) timeout = std::max(0.0, *retry_at - now());
    signal_.wait(timeout);
  }
  return std::nullopt;
}

void Crawler::work() {
  Fetcher fetcher(fetch_config_);
  std::unique_ptr<RedisClient> redis;
  if (shared_) redis = std::make_unique<RedisClient>(shared_->address(), options_.timeout);
  try {
    while (auto task = next_task(redis.get())) {
      if (task->robots)
        fetch_robots(fetcher, *task, redis.get());
      else
        fetch_page(fetcher, *task, redis.get());
    }
  } catch (...) {
    // A task that died with its worker (Redis gone, out of memory) would keep the
    // frontier from ever finishing: end the crawl, and run() rethrows this.
    stop();
    throw;
  }
}

void Crawler::fetch_robots(Fetcher& fetcher, const Task& task, RedisClient* redis) {
  FetchResult r = fetcher.fetch(task.url);
  if (!r.cancelled) {
    stats_.robots_fetched();
    // RFC 9309 2.3.1: unavailable (4xx) allows all; unreachable (5xx, no answer) allows none.
    if (r.status >= 200 && r.status < 300)
      frontier_.set_robots(task.origin, Robots::parse(r.body, options_.user_agent));
    else if (r.status >= 400 && r.status < 500)
      frontier_.set_robots(task.origin, Robots::allow_all());
    else
      frontier_.set_robots(task.origin, Robots::disallow_all());
  }
  frontier_.done(task);
  for (const std::string& url : frontier_.take_dropped())
    if (shared_) release_shared(redis, url);
  signal_.notify_all();  // the origin's queued pages are now takeable (or dropped)
}

void Crawler::fetch_page(Fetcher& fetcher, const Task& task, RedisClient* redis) {
  FetchResult r = fetcher.fetch(task.url);
  if (r.cancelled) {
    stats_.cancelled();
    frontier_.done(task);
    leases_.erase(task.url);  // the lease expires and another process takes the page
    return;
  }
  PageRecord page;
  page.url = task.url;
  page.final_url = r.final_url;
  page.status = r.status;
  page.content_type = r.content_type;
  page.bytes = r.bytes;
  page.elapsed_ms = r.elapsed_ms;
  page.depth = task.depth;
  page.attempts = r.attempts;
  if (!r.error.empty()) page.error = r.error;

  std::size_t admitted = 0;
  if (r.final_url != task.url) {
    if (auto final_url = normalize_url(r.final_url)) {
      frontier_.mark_seen(*final_url);
      if (shared_) shared_->mark_seen(*redis, *final_url);
    }
  }
  if (r.status >= 200 && r.status < 300 && r.is_html()) {
    PageInfo info = parse_page(r.body, r.final_url);
    page.title = std::move(info.title);
    page.links = info.links.size();
    if (task.depth < options_.depth && !shared_) {
      for (const std::string& link : info.links) admitted += frontier_.add(link, task.depth + 1) ? 1 : 0;
    } else if (task.depth < options_.depth) {
      std::vector<std::pair<std::string, int>> links;
      for (const std::string& link : info.links)
        if (frontier_.admissible(link, task.depth + 1)) links.emplace_back(link, task.depth + 1);
      shared_->add(*redis, links);
    }
  }
  output_.write(page);
  stats_.record(page);
  frontier_.done(task);
  if (shared_) {
    // A page is done for the other processes only once its line is in the file: a
    // process killed after this point has nothing of it left to redo.
    output_.flush();
    release_shared(redis, task.url);
  }
  signal_.notify(admitted + 1);  // one per new URL, one for the freed slot
}

}  // namespace crawler
