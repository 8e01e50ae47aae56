// green-crawl: a high-concurrency web crawler on greenlets. See usage_text() in
// options.cpp for the command line and README.md for what it shows.
#include <curl/curl.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>

#include <green/signal.hpp>

#include "crawler.hpp"
#include "demo_site.hpp"
#include "options.hpp"
#include "output.hpp"
#include "shared_frontier.hpp"

namespace {

int usage_error(const std::string& message) {
  std::fprintf(stderr, "green-crawl: %s\nTry 'green-crawl --help'.\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  crawler::Options options;
  try {
    options = crawler::parse_options(argc, argv);
  } catch (const crawler::UsageError& e) {
    return usage_error(e.what());
  }
  if (options.help) {
    std::fputs(crawler::usage_text().c_str(), stdout);
    return 0;
  }
  if (!options.redis_url.empty()) {
    try {
      crawler::RedisClient probe(crawler::RedisAddress::parse(options.redis_url), 5.0);
      probe.command({"PING"});
    } catch (const crawler::RedisError& e) {
      return usage_error(e.what());
    }
  }

  std::unique_ptr<crawler::Output> output;
  try {
    output = std::make_unique<crawler::Output>(options.output);
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }
  std::signal(SIGPIPE, SIG_IGN);  // a closed output pipe is an error return, not a death
  curl_global_init(CURL_GLOBAL_DEFAULT);

  int status = 0;
  try {
    std::optional<crawler::DemoSite> site;
    if (options.demo) {
      site.emplace();
      site->start();
      options.seeds = {site->url()};
      if (!options.quiet)
        std::fprintf(stderr, "green-crawl: demo site of 10,000 pages at %s, crawling %ld of them\n",
                     site->url().c_str(), options.max_pages);
    }
    crawler::Crawler crawl(options, *output);
    // SIGINT and SIGTERM stop the crawl: requests in flight are cancelled, the lines
    // written so far stay complete, and the summary is printed.
    auto on_int = green::signal_handler(SIGINT, [&crawl] { crawl.stop(); });
    auto on_term = green::signal_handler(SIGTERM, [&crawl] { crawl.stop(); });
    crawl.run();
    if (site) site->stop();
    output->flush();
    if (!options.quiet) std::fputs(crawl.stats().summary(crawl.frontier().disallowed()).c_str(), stderr);
    status = crawl.stopped() ? 130 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "green-crawl: %s\n", e.what());
    status = 1;
  }
  output.reset();
  curl_global_cleanup();
  return status;
}
