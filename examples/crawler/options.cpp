#include "options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "shared_frontier.hpp"
#include "url.hpp"

namespace crawler {
namespace {

long parse_integer(const std::string& name, const std::string& value, long min, long max) {
  errno = 0;
  char* end = nullptr;
  long n = std::strtol(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno == ERANGE || n < min || n > max)
    throw UsageError(name + " wants an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                     ", got '" + value + "'");
  return n;
}

double parse_seconds(const std::string& name, const std::string& value, bool zero_ok) {
  char* end = nullptr;
  double s = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(s) || s < 0 || (!zero_ok && s == 0) || s > 86400)
    throw UsageError(name + " wants seconds (a number " + (zero_ok ? ">= 0" : "> 0") + "), got '" + value + "'");
  return s;
}

}  // namespace

std::string usage_text() {
  return R"(Usage: green-crawl [options] URL...
       green-crawl --demo [options]

Crawls the web from the seed URLs and writes one JSON object per fetched page, one per
line: url, final_url, status, content_type, bytes, elapsed_ms, depth, title, links,
attempts, and error when the fetch failed.

Options:
  --max-pages N      stop after fetching N pages (default 1000; --demo: 2000)
  --concurrency N    requests in flight at once, one greenlet each (default 100)
  --per-host N       at most N requests in flight to one host (default 8;
                     --demo: the concurrency)
  --delay S          at least S seconds between two requests to one host (default 0)
  --depth N          follow links at most N hops from a seed (default 5; --demo: 1000)
  --timeout S        give up on a request attempt after S seconds (default 10)
  --retries N        retry timeouts, resets and 5xx N times, with backoff (default 2)
  --same-host        follow links only to the seeds' hosts (default)
  --any-host         follow links to any host
  --user-agent UA    the User-Agent header, also matched in robots.txt (default green-crawl/0.1)
  --robots           honour robots.txt Disallow rules for our agent and * (default)
  --no-robots        ignore robots.txt
  --output FILE      write the JSON lines to FILE (default: stdout)
  --quiet            no progress line, no summary
  --redis URL        share the crawl with other processes through Redis
                     (redis://host[:port][/db]); without URLs, join a running crawl
  --crawl-id NAME    the shared crawl's name in Redis (with --redis)
  --demo             serve a generated 10,000-page site on 127.0.0.1 and crawl it
  --help             show this help

Every option's value may also be given as --option=VALUE. Exit status: 0 when the crawl
finished, 130 when interrupted (SIGINT), 2 for bad usage.
)";
}

Options parse_options(int argc, const char* const* argv) {
  Options o;
  bool max_pages_given = false, per_host_given = false, depth_given = false;
  using Setter = std::function<void(const std::string& name, const std::string& value)>;
  const std::map<std::string, Setter> valued = {
      {"--max-pages", [&](auto& n, auto& v) { o.max_pages = parse_integer(n, v, 1, 1'000'000'000); max_pages_given = true; }},
      {"--concurrency", [&](auto& n, auto& v) { o.concurrency = static_cast<int>(parse_integer(n, v, 1, 100'000)); }},
      {"--per-host", [&](auto& n, auto& v) { o.per_host = static_cast<int>(parse_integer(n, v, 1, 100'000)); per_host_given = true; }},
      {"--delay", [&](auto& n, auto& v) { o.delay = parse_seconds(n, v, true); }},
      {"--depth", [&](auto& n, auto& v) { o.depth = static_cast<int>(parse_integer(n, v, 0, 1'000'000)); depth_given = true; }},
      {"--timeout", [&](auto& n, auto& v) { o.timeout = parse_seconds(n, v, false); }},
      {"--retries", [&](auto& n, auto& v) { o.retries = static_cast<int>(parse_integer(n, v, 0, 100)); }},
      {"--user-agent", [&](auto& n, auto& v) {
         if (v.empty()) throw UsageError(n + " must not be empty");
         o.user_agent = v;
       }},
      {"--output", [&](auto& n, auto& v) {
         if (v.empty()) throw UsageError(n + " wants a file name");
         o.output = v;
       }},
      {"--redis", [&](auto&, auto& v) { o.redis_url = v; }},
      {"--crawl-id", [&](auto&, auto& v) { o.crawl_id = v; }},
  };
  const std::map<std::string, std::function<void()>> flags = {
      {"--same-host", [&] { o.same_host = true; }},
      {"--any-host", [&] { o.same_host = false; }},
      {"--robots", [&] { o.robots = true; }},
      {"--no-robots", [&] { o.robots = false; }},
      {"--quiet", [&] { o.quiet = true; }},
      {"--demo", [&] { o.demo = true; }},
      {"--help", [&] { o.help = true; }},
      {"-h", [&] { o.help = true; }},
  };

  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      auto url = normalize_url(arg);
      if (!url) throw UsageError("'" + arg + "' is not an absolute http:// or https:// URL");
      o.seeds.push_back(*url);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    if (auto f = flags.find(name); f != flags.end()) {
      if (inline_value) throw UsageError(name + " takes no value");
      f->second();
    } else if (auto v = valued.find(name); v != valued.end()) {
      if (!inline_value) {
        if (i + 1 >= argc) throw UsageError(name + " needs a value");
        value = argv[++i];
      }
      v->second(name, value);
    } else {
      throw UsageError("unknown option '" + name + "'");
    }
  }
  if (o.help) return o;
  if (o.demo) {
    if (!o.seeds.empty()) throw UsageError("--demo crawls its own site: give no URLs");
    // One local host: its politeness limit would be the whole crawl's limit.
    if (!max_pages_given) o.max_pages = 2000;
    if (!per_host_given) o.per_host = o.concurrency;
    if (!depth_given) o.depth = 1000;
  } else if (o.seeds.empty() && o.redis_url.empty()) {
    throw UsageError("no seed URL given");  // with --redis, a process may join a crawl
  }
  if (!o.crawl_id.empty() && o.redis_url.empty()) throw UsageError("--crawl-id needs --redis");
  if (!o.redis_url.empty()) {
    try {
      RedisAddress::parse(o.redis_url);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--redis ") + e.what());
    }
    if (o.crawl_id.empty()) throw UsageError("--redis needs --crawl-id NAME");
  }
  return o;
}

}  // namespace crawler
