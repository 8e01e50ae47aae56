// crawler/robots.hpp: robots.txt (RFC 9309) for one user agent.
//
// parse() keeps the rules of the groups whose User-agent matches the product token of our
// agent (case-insensitive, "green-crawl" for "green-crawl/0.1 (+url)"); if there is no such
// group, the rules of the "*" groups. Groups with the same agent are merged; consecutive
// User-agent lines share one group. allowed() applies the longest matching rule, Allow
// winning a tie; '*' matches any run of characters and a final '$' anchors the end.
// Nothing matching, or an empty Disallow, allows. Crawl-delay is kept for the caller.
//
// What the fetch's outcome means (RFC 9309 2.3.1): a 4xx robots.txt allows everything;
// a 5xx or an unreachable server disallows everything (allow_all()/disallow_all()).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crawler {

class Robots {
 public:
  static Robots parse(std::string_view text, std::string_view user_agent);
  static Robots allow_all() { return Robots(); }
  static Robots disallow_all();

  // `target` is the path and query of an URL ("/a/b?x=1").
  bool allowed(std::string_view target) const;
  std::optional<double> crawl_delay() const { return crawl_delay_; }
  std::size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    bool allow;
    std::string pattern;
  };
  std::vector<Rule> rules_;
  std::optional<double> crawl_delay_;
};

// The product token robots.txt groups are matched against: "green-crawl" for
// "green-crawl/0.1 (+https://example.org)".
std::string robots_token(std::string_view user_agent);

}  // namespace crawler
