#include "robots.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace crawler {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Does `pattern` (with '*' and a trailing '$') match a prefix of `target`? Iterative
// wildcard matching with backtracking to the last '*': linear in practice, no recursion.
bool matches(std::string_view pattern, std::string_view target) {
  bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored) pattern.remove_suffix(1);
  std::size_t p = 0, t = 0, star = std::string_view::npos, star_t = 0;
  while (true) {
    if (p == pattern.size()) {
      if (!anchored || t == target.size()) return true;
    } else if (pattern[p] == '*') {
      star = p++;
      star_t = t;
      continue;
    } else if (t < target.size() && pattern[p] == target[t]) {
      ++p;
      ++t;
      continue;
    }
    if (star == std::string_view::npos || star_t >= target.size()) return false;
    p = star + 1;
    t = ++star_t;
  }
}

}  // namespace

std::string robots_token(std::string_view user_agent) {
  std::size_t end = user_agent.find_first_of("/ \t");
  return lower(user_agent.substr(0, end));
}

Robots Robots::disallow_all() {
  Robots r;
  r.rules_.push_back({false, "/"});
  return r;
}

Robots Robots::parse(std::string_view text, std::string_view user_agent) {
  const std::string token = robots_token(user_agent);
  Robots mine, star;
  bool have_mine = false;
  // The group being read applies to us, to "*", or to neither.
  bool for_mine = false, for_star = false, in_agents = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = lower(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "user-agent") {
      if (!in_agents) for_mine = for_star = false;  // a new group starts
      in_agents = true;
      std::string agent = lower(value);
      if (agent == "*") for_star = true;
      else if (!token.empty() && agent == token) for_mine = have_mine = true;
      continue;
    }
    in_agents = false;
    if (key == "allow" || key == "disallow") {
      // An empty Disallow allows everything: it adds no rule.
      if (value.empty()) continue;
      Rule rule{key == "allow", std::string(value)};
      if (for_mine) mine.rules_.push_back(rule);
      if (for_star) star.rules_.push_back(rule);
    } else if (key == "crawl-delay") {
      char* stop = nullptr;
      std::string v(value);
      double d = std::strtod(v.c_str(), &stop);
      // "inf" or "1e999" would stall the origin for ever, and "nan" compares false with
      // everything: only a finite delay counts.
      if (stop != v.c_str() && std::isfinite(d) && d >= 0) {
        if (for_mine) mine.crawl_delay_ = d;
        if (for_star) star.crawl_delay_ = d;
      }
    }
  }
  return have_mine ? mine : star;
}

bool Robots::allowed(std::string_view target) const {
  if (target.empty()) target = "/";
  const Rule* best = nullptr;
  for (const Rule& rule : rules_) {
    if (!matches(rule.pattern, target)) continue;
    if (!best || rule.pattern.size() > best->pattern.size() ||
        (rule.pattern.size() == best->pattern.size() && rule.allow && !best->allow))
      best = &rule;
  }
  return !best || best->allow;
}

}  // namespace crawler
