#include "frontier.hpp"

#include <algorithm>


namespace crawler {

Frontier::Frontier(FrontierLimits limits) : limits_(limits) {}

Frontier::Origin& Frontier::origin(const std::string& name) {
  auto [it, inserted] = origins_.try_emplace(name);
  if (inserted) {
    it->second.delay = limits_.delay;
    it->second.robots_state = limits_.robots ? Origin::RobotsState::unknown : Origin::RobotsState::known;
  }
  return it->second;
}

bool Frontier::add_seed(const std::string& url) {
  if (limits_.same_host)
    if (auto parts = split_url(url)) hosts_.insert(parts->host);
  return admit(url, 0, true);
}

bool Frontier::add(const std::string& url, int depth) { return admit(url, depth, false); }

bool Frontier::admit(const std::string& url, int depth, bool seed) {
  if (depth > limits_.max_depth) return false;
  auto parts = split_url(url);
  if (!parts) return false;
  if (!seed && limits_.same_host && !hosts_.contains(parts->host)) return false;
  if (!seen_.insert(url).second) return false;
  Origin& o = origin(parts->origin);
  if (o.robots_state == Origin::RobotsState::known && !o.robots.allowed(parts->target)) {
    ++disallowed_;
    return false;
  }
  enqueue(url, *parts, depth);
  return true;
}

void Frontier::enqueue(const std::string& url, const UrlParts& parts, int depth) {
  Origin& o = origin(parts.origin);
  o.queue.push_back(Task{url, parts.origin, depth, false});
  ++queued_;
  if (!o.in_rotation) {
    o.in_rotation = true;
    rotation_.push_back(parts.origin);
  }
}

bool Frontier::admissible(const std::string& url, int depth) const {
  if (depth > limits_.max_depth) return false;
  auto parts = split_url(url);
  if (!parts) return false;
  if (limits_.same_host && !hosts_.contains(parts->host)) return false;
  auto it = origins_.find(parts->origin);
  return it == origins_.end() || it->second.robots_state != Origin::RobotsState::known ||
         it->second.robots.allowed(parts->target);
}

bool Frontier::add_claimed(const std::string& url, int depth) {
  auto parts = split_url(url);
  if (!parts) return false;
  seen_.insert(url);
  Origin& o = origin(parts->origin);
  if (o.robots_state == Origin::RobotsState::known && !o.robots.allowed(parts->target)) {
    ++disallowed_;
    return false;
  }
  enqueue(url, *parts, depth);
  return true;
}

std::optional<Task> Frontier::take(double now, std::optional<double>* retry_at) {
  if (retry_at) retry_at->reset();
  if (pages_taken_ >= limits_.max_pages) return std::nullopt;
  // One pass over the origins with work, starting after the last one served.
  for (std::size_t n = rotation_.size(); n > 0; --n) {
    std::string name = std::move(rotation_.front());
    rotation_.pop_front();
    Origin& o = origins_.at(name);
    if (o.queue.empty()) {  // drained by set_robots
      o.in_rotation = false;
      continue;
    }
    bool robots_first = o.robots_state == Origin::RobotsState::unknown;
    if (o.in_flight >= limits_.per_host || o.robots_state == Origin::RobotsState::fetching) {
      rotation_.push_back(std::move(name));
      continue;
    }
    if (o.next_start > now) {
      if (retry_at && (!*retry_at || o.next_start < **retry_at)) *retry_at = o.next_start;
      rotation_.push_back(std::move(name));
      continue;
    }
    Task task;
    if (robots_first) {
      o.robots_state = Origin::RobotsState::fetching;
      task = Task{name + "/robots.txt", name, 0, true};
    } else {
      task = std::move(o.queue.front());
      o.queue.pop_front();
      --queued_;
      ++pages_taken_;
    }
    ++o.in_flight;
    ++in_flight_;
    o.next_start = now + o.delay;
    if (o.queue.empty())
      o.in_rotation = false;
    else
      rotation_.push_back(std::move(name));
    return task;
  }
  return std::nullopt;
}

void Frontier::done(const Task& task) {
  Origin& o = origins_.at(task.origin);
  --o.in_flight;
  --in_flight_;
  // A robots.txt fetch that ended without set_robots (cancelled) must not leave the
  // origin's pages waiting forever.
  if (task.robots && o.robots_state == Origin::RobotsState::fetching) set_robots(task.origin, Robots::allow_all());
}

void Frontier::set_robots(const std::string& name, Robots robots) {
  Origin& o = origin(name);
  o.robots = std::move(robots);
  o.robots_state = Origin::RobotsState::known;
  if (auto d = o.robots.crawl_delay()) o.delay = std::max(o.delay, *d);
  std::size_t before = o.queue.size();
  std::erase_if(o.queue, [&](const Task& t) {
    auto parts = split_url(t.url);
    if (parts && o.robots.allowed(parts->target)) return false;
    dropped_.push_back(t.url);
    return true;
  });
  std::size_t dropped = before - o.queue.size();
  queued_ -= dropped;
  disallowed_ += static_cast<long>(dropped);
}

bool Frontier::finished() const {
  if (in_flight_ > 0) return false;
  return queued_ == 0 || pages_taken_ >= limits_.max_pages;
}

}  // namespace crawler
