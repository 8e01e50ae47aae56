// robots_fuzz: crawler/robots.hpp's Robots::parse and Robots::allowed.
//
// The first input byte chooses the mode.
//  - Even: the rest is a robots.txt as a server might send it. Checks: no crash or leak;
//    a Crawl-delay kept is finite and not negative; CRLF line ends give the same rules as
//    LF; "" is judged as "/"; each decision is the same when asked twice.
//  - Odd: the rest is read as a program that writes a robots.txt of groups (User-agent
//    lines for "*", our token in either case, another agent) and Allow/Disallow rules over
//    a small alphabet with '*' and '$'. The harness knows every rule, so each decision on
//    a set of targets is compared with a plain reference: the groups naming our token
//    (merged) or else the "*" groups; among the rules whose pattern matches a prefix of
//    the target ('*' any run, a final '$' anchoring the end), the longest pattern wins and
//    Allow wins a tie; no match allows. This covers "a Disallow prefix also disallows every
//    longer path unless a longer Allow matches it".
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "robots.hpp"

namespace {

constexpr std::string_view kAgent = "green-crawl/0.1 (+https://example.org/bot)";

struct Rule {
  bool allow;
  std::string pattern;
};

// Does `p` (with '*') match all of `t`? Plain dynamic programming: no shared code with
// the matcher under test.
bool glob_full(std::string_view p, std::string_view t) {
  std::vector<bool> row(t.size() + 1, false), next(t.size() + 1);
  row[0] = true;
  for (char c : p) {
    std::fill(next.begin(), next.end(), false);
    for (std::size_t j = 0; j <= t.size(); ++j) {
      if (c == '*') {
        next[j] = row[j] || (j > 0 && next[j - 1]);
      } else if (j > 0) {
        next[j] = row[j - 1] && t[j - 1] == c;
      }
    }
    row.swap(next);
  }
  return row[t.size()];
}

bool reference_match(std::string_view pattern, std::string_view target) {
  if (!pattern.empty() && pattern.back() == '$') {
    pattern.remove_suffix(1);
    return glob_full(pattern, target);
  }
  for (std::size_t n = 0; n <= target.size(); ++n)
    if (glob_full(pattern, target.substr(0, n))) return true;
  return false;
}

bool reference_allowed(const std::vector<Rule>& rules, std::string_view target) {
  if (target.empty()) target = "/";
  std::size_t best = 0;
  bool matched = false, allow = true;
  for (const Rule& r : rules) {
    if (!reference_match(r.pattern, target)) continue;
    if (!matched || r.pattern.size() > best) {
      best = r.pattern.size();
      allow = r.allow;
      matched = true;
    } else if (r.pattern.size() == best && r.allow) {
      allow = true;
    }
  }
  return allow;
}

struct Reader {
  const unsigned char* data;
  std::size_t size;
  unsigned char byte() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
  std::string word(std::size_t max) {
    static constexpr char kAlphabet[] = {'/', 'a', 'b', '*', '$', '?', '=', '.', '%', 'A'};
    std::string s;
    for (std::size_t n = byte() % (max + 1); n > 0 && size > 0; --n) s += kAlphabet[byte() % sizeof(kAlphabet)];
    return s;
  }
};

void structured(Reader in) {
  static constexpr const char* kAgents[] = {"*", "green-crawl", "GREEN-Crawl", "other-bot", "green"};
  std::string text;
  std::vector<Rule> mine, star;
  bool have_mine = false;
  std::vector<std::string> targets{"", "/"};
  // Consecutive User-agent lines share a group: a group without rule lines merges into
  // the next one.
  bool for_mine = false, for_star = false, had_rules = true;
  for (int groups = in.byte() % 4 + 1; groups > 0 && in.size > 0; --groups) {
    if (had_rules) for_mine = for_star = false;
    had_rules = false;
    for (int agents = in.byte() % 2 + 1; agents > 0; --agents) {
      const std::string agent = kAgents[in.byte() % std::size(kAgents)];
      text += (in.byte() & 1 ? "user-agent: " : "User-agent:") + agent + "\n";
      for_star |= agent == "*";
      for_mine |= agent == "green-crawl" || agent == "GREEN-Crawl";
    }
    have_mine |= for_mine;
    for (int rules = in.byte() % 5; rules > 0 && in.size > 0; --rules) {
      had_rules = true;
      const bool allow = in.byte() & 1;
      const std::string pattern = in.word(8);
      text += std::string(allow ? "Allow: " : "Disallow: ") + pattern + (in.byte() & 1 ? " # note\n" : "\n");
      if (pattern.empty()) continue;  // an empty rule adds nothing
      if (for_mine) mine.push_back({allow, pattern});
      if (for_star) star.push_back({allow, pattern});
      targets.push_back(pattern);
      targets.push_back(pattern + "b");
    }
  }
  while (in.size > 0) targets.push_back(in.word(10));
  const std::vector<Rule>& rules = have_mine ? mine : star;

  const crawler::Robots robots = crawler::Robots::parse(text, kAgent);
  FUZZ_CHECK(robots.rule_count() == rules.size(), "%zu rules kept, expected %zu from:\n%s", robots.rule_count(),
             rules.size(), text.c_str());
  for (const std::string& t : targets) {
    const bool want = reference_allowed(rules, t);
    FUZZ_CHECK(robots.allowed(t) == want, "allowed(\"%s\") is %d, expected %d, for:\n%s", t.c_str(), !want, want,
               text.c_str());
  }
}

void free_form(std::string_view text) {
  const crawler::Robots robots = crawler::Robots::parse(text, kAgent);
  if (auto d = robots.crawl_delay()) FUZZ_CHECK(std::isfinite(*d) && *d >= 0, "crawl delay %g", *d);

  std::string crlf;
  for (char c : text) c == '\n' ? crlf += "\r\n" : crlf += c;
  const crawler::Robots robots_crlf = crawler::Robots::parse(crlf, kAgent);
  FUZZ_CHECK(robots_crlf.rule_count() == robots.rule_count(), "CRLF: %zu rules, LF: %zu", robots_crlf.rule_count(),
             robots.rule_count());
  FUZZ_CHECK(robots_crlf.crawl_delay() == robots.crawl_delay(), "CRLF changes the crawl delay");

  // Targets: the fixed ones and every value in the file, alone and extended.
  std::vector<std::string> targets{"/", "/a", "/index.html?x=1", "/robots.txt"};
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string value(line.substr(colon + 1));
      targets.push_back(value);
      targets.push_back(value + "/x");
    }
    pos = end + 1;
  }
  FUZZ_CHECK(robots.allowed("") == robots.allowed("/"), "\"\" and \"/\" differ");
  for (const std::string& t : targets) {
    const bool a = robots.allowed(t);
    FUZZ_CHECK(robots.allowed(t) == a, "allowed(\"%s\") changes", t.c_str());
    FUZZ_CHECK(robots_crlf.allowed(t) == a, "allowed(\"%s\") differs with CRLF line ends", t.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] & 1)
    structured(Reader{data + 1, size - 1});
  else
    free_form(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
