// crawler/fetcher.hpp: HTTP(S) GET with libcurl's easy API, one handle per greenlet.
//
// A Fetcher owns one easy handle and reuses it for every request, so libcurl keeps the
// connection to each host alive between requests (its per-handle connection cache). The
// easy API blocks in poll/recv/send; linked with green::patch those calls yield to the hub,
// so a thousand Fetchers in a thousand greenlets share one OS thread.
//
// fetch() retries a timeout, a reset (the peer closed or reset the connection, or sent
// nothing), a refused connection and any 5xx, up to `retries` more times, sleeping
// backoff * 2^k (k = 0, 1, ...; capped at 10 s, jittered by +-50%) in between, cooperatively.
// Redirects are followed (up to 10, http and https only). Setting `stop` cancels a
// request in flight (libcurl notices within its progress interval) and any backoff.
#pragma once

#include <curl/curl.h>

#include <random>
#include <string>

namespace green {
class Event;
}

namespace crawler {

struct FetchConfig {
  std::string user_agent = "green-crawl/0.1";
  double timeout = 10.0;   // seconds, per attempt
  int retries = 2;
  double backoff = 0.25;   // seconds before the first retry
  std::size_t max_body = 8u << 20;  // bytes kept for parsing; more are counted, not kept
  green::Event* stop = nullptr;  // set: cancel and give up
};

struct FetchResult {
  long status = 0;  // 0: no HTTP response
  std::string final_url;
  std::string content_type;
  std::string body;        // at most max_body bytes
  std::size_t bytes = 0;   // body bytes received (decoded)
  double elapsed_ms = 0;   // first attempt's start to the last one's end, backoff included
  int attempts = 0;
  bool cancelled = false;
  std::string error;       // "kind: message" when the last attempt failed without a response

  bool is_html() const;
};

class Fetcher {
 public:
  explicit Fetcher(FetchConfig config);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  FetchResult fetch(const std::string& url);

 private:
  bool attempt(const std::string& url, FetchResult& result);  // true: worth retrying
  bool wait_backoff(int retry);                               // false: stopped

  FetchConfig config_;
  CURL* easy_;
  char error_buffer_[CURL_ERROR_SIZE];
  std::minstd_rand jitter_;
};

}  // namespace crawler
