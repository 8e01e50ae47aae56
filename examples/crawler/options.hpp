// crawler/options.hpp: green-crawl's command line.
//
// parse_options() turns argv into Options or throws UsageError with a message that names
// the offending option or value; main() prints it and exits with status 2. Every option
// takes its value as `--name VALUE` or `--name=VALUE`. Seed URLs are normalised here, so a
// malformed seed is a usage error, not a failed page.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace crawler {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::vector<std::string> seeds;  // normalised absolute http(s) URLs
  long max_pages = 1000;
  int concurrency = 100;
  int per_host = 8;
  double delay = 0.0;        // seconds between two request starts to one host
  int depth = 5;             // seeds are depth 0
  double timeout = 10.0;     // seconds, per request attempt
  int retries = 2;           // extra attempts after a timeout, reset or 5xx
  bool same_host = true;
  std::string user_agent = "green-crawl/0.1";
  bool robots = true;
  std::string output;        // empty or "-": stdout
  bool quiet = false;
  std::string redis_url;
  std::string crawl_id;
  bool demo = false;
  bool help = false;
};

// Throws UsageError. argv[0] is the program name.
Options parse_options(int argc, const char* const* argv);
std::string usage_text();

}  // namespace crawler
