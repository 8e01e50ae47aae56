#include "fetcher.hpp"

#include <green/event.hpp>
#include <green/hub.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace crawler {
namespace {

struct Body {
  FetchResult* result;
  std::size_t max;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  std::size_t n = size * count;
  body->result->bytes += n;
  if (body->result->body.size() < body->max)
    body->result->body.append(data, std::min(n, body->max - body->result->body.size()));
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* stop = static_cast<const green::Event*>(user);
  return stop && stop->is_set() ? 1 : 0;  // non-zero aborts the transfer
}

// The error kinds the summary counts, and whether a retry may help.
const char* error_kind(CURLcode code, bool& retry) {
  retry = false;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: retry = true; return "timeout";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: retry = true; return "reset";
    case CURLE_COULDNT_CONNECT: retry = true; return "connect";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "dns";
    case CURLE_TOO_MANY_REDIRECTS: return "redirects";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: return "tls";
    default: return "curl";
  }
}

}  // namespace

bool FetchResult::is_html() const {
  std::string type = content_type.substr(0, content_type.find(';'));
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type == "text/html" || type == "application/xhtml+xml";
}

Fetcher::Fetcher(FetchConfig config) : config_(std::move(config)), easy_(curl_easy_init()), jitter_(std::random_device{}()) {
  if (!easy_) throw std::runtime_error("curl_easy_init failed");
  error_buffer_[0] = '\0';
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout * 1000));
  // No SIGALRM for DNS timeouts: signals and greenlets do not mix.
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, config_.stop);
}

Fetcher::~Fetcher() { curl_easy_cleanup(easy_); }

FetchResult Fetcher::fetch(const std::string& url) {
  FetchResult result;
  auto start = std::chrono::steady_clock::now();
  for (int retry = 0;; ++retry) {
    bool again = attempt(url, result);
    if (result.cancelled || !again || retry >= config_.retries) break;
    if (!wait_backoff(retry)) {
      result.cancelled = true;
      break;
    }
  }
  result.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

bool Fetcher::attempt(const std::string& url, FetchResult& result) {
  ++result.attempts;
  result.status = 0;
  result.body.clear();
  result.bytes = 0;
  result.content_type.clear();
  result.error.clear();
  result.final_url = url;
  error_buffer_[0] = '\0';
  Body body{&result, config_.max_body};
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &body);
  CURLcode code = curl_easy_perform(easy_);

  char* effective = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
    result.final_url = effective;
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    result.cancelled = true;
    result.error = "cancelled: stopped";
    return false;
  }
  if (code != CURLE_OK) {
    bool retry = false;
    const char* kind = error_kind(code, retry);
    result.error = std::string(kind) + ": " + (error_buffer_[0] ? error_buffer_ : curl_easy_strerror(code));
    return retry;
  }
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &result.status);
  char* type = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type) result.content_type = type;
  return result.status >= 500;
}

bool Fetcher::wait_backoff(int retry) {
  double seconds = std::min(config_.backoff * std::ldexp(1.0, retry), 10.0);
  seconds *= std::uniform_real_distribution<double>(0.5, 1.5)(jitter_);
  if (!config_.stop) {
    green::sleep(seconds);
    return true;
  }
  // Event::wait returns early when the crawl is stopped.
  return !config_.stop->wait(seconds);
}

}  // namespace crawler
