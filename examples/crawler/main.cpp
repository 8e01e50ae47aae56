// green-crawl: a high-concurrency web crawler on greenlets. See usage_text() in
// options.cpp for the command line and README.md for what it shows.
#include <curl/curl.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include <green/greenlet.hpp>

#include "crawler.hpp"
#include "options.hpp"
#include "output.hpp"

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt(int) { interrupted = 1; }

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
  if (!options.redis_url.empty()) return usage_error("--redis: this build has no Redis support");
  if (options.demo) return usage_error("--demo: this build has no demo site");

  std::unique_ptr<crawler::Output> output;
  try {
    output = std::make_unique<crawler::Output>(options.output);
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }

  std::signal(SIGPIPE, SIG_IGN);  // a closed output pipe is an error return, not a death
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  int status = 0;
  try {
    crawler::Crawler crawl(options, *output, [] { return interrupted != 0; });
    crawl.run();
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
