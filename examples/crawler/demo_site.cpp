#include "demo_site.hpp"

#include <cmath>
#include <cstdio>
#include <string_view>

#include <green/hub.hpp>

namespace crawler {
namespace {

// A fixed pseudo-random function of the page number (splitmix64): the site is the same
// in every run.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::string_view kWords[] = {
    "green",  "thread", "greenlet", "hub",    "event",    "loop",   "socket", "yield",  "switch",
    "stack",  "crawl",  "page",     "link",   "request",  "answer", "server", "client", "timeout",
    "queue",  "pool",   "worker",   "signal", "latency",  "cache",  "host",   "robots", "fetch"};

std::string http_response(int status, std::string_view reason, std::string_view type, const std::string& body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += reason;
  out += "\r\nContent-Type: ";
  out += type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

}  // namespace

DemoSite::DemoSite(int pages, double median_latency)
    : pages_(pages), median_latency_(median_latency), random_(std::random_device{}()) {}

DemoSite::~DemoSite() { stop(); }

void DemoSite::start() {
  server_ = std::make_unique<green::StreamServer>(
      green::Address::ip("127.0.0.1", 0), [this](green::Socket& s, const green::Address&) { serve(s); });
  // A crawler that is stopped resets its connections: nothing worth a line on stderr.
  server_->set_error_handler([](const green::Address&, std::exception_ptr) {});
  server_->start();
  origin_ = "http://127.0.0.1:" + std::to_string(server_->address().port());
}

void DemoSite::stop() {
  if (server_) server_->stop(0);
}

std::string DemoSite::url() const { return origin_ + "/"; }

double DemoSite::latency() {
  std::lognormal_distribution<double> spread(0.0, 0.8);  // p99 = median * e^(2.33 * 0.8)
  return std::min(median_latency_ * spread(random_), 2.0);
}

void DemoSite::serve(green::Socket& socket) {
  while (true) {
    std::string head;
    try {
      head = socket.recv_until("\r\n\r\n", 16384);
    } catch (const green::EOFError&) {
      return;  // the client closed its keep-alive connection
    }
    auto start = head.find(' ');
    auto end = head.find(' ', start + 1);
    if (start == std::string::npos || end == std::string::npos) return;
    std::string path = head.substr(start + 1, end - start - 1);
    ++requests_;
    green::sleep(latency());
    socket.sendall(respond(path));
  }
}

std::string DemoSite::respond(const std::string& path) {
  if (path == "/robots.txt")
    return http_response(200, "OK", "text/plain", "User-agent: *\nDisallow: /private/\n");
  int n = -1;
  if (path == "/") {
    n = 0;
  } else if (path.rfind("/page/", 0) == 0) {
    char* stop = nullptr;
    long v = std::strtol(path.c_str() + 6, &stop, 10);
    if (*stop == '\0' && v >= 0 && v < pages_) n = static_cast<int>(v);
  }
  if (n < 0) return http_response(404, "Not Found", "text/html", "<title>Not found</title><p>No such page.");
  if (mix(static_cast<std::uint64_t>(n) * 7 + 1) % 100 == 0 && served_[n]++ == 0)
    return http_response(503, "Service Unavailable", "text/html", "<title>Busy</title><p>Try again.");
  return http_response(200, "OK", "text/html; charset=utf-8", page(n));
}

std::string DemoSite::page(int n) const {
  auto pick = [&](int k) { return static_cast<int>(mix(static_cast<std::uint64_t>(n) * 64 + k) % pages_); };
  std::string body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Demo page " + std::to_string(n) +
                     " &middot; green</title></head>\n<body><h1>Page " + std::to_string(n) + "</h1>\n<nav>";
  // The next two pages keep every page reachable; the rest spread the crawl.
  body += "<a href=\"/page/" + std::to_string((n + 1) % pages_) + "\">next</a> ";
  // Relative to the page's directory (/ for page 0, /page/ for the others).
  body += "<a href=\"" + std::string(n == 0 ? "page/" : "") + std::to_string((n + 2) % pages_) + "#top\">skip</a> ";
  for (int k = 0; k < 8; ++k) {
    int m = pick(k);
    switch (k % 4) {
      case 0: body += "<a href=\"/page/" + std::to_string(m) + "\">p" + std::to_string(m) + "</a> "; break;
      case 1: body += "<a href=\"../page/" + std::to_string(m) + "\">p" + std::to_string(m) + "</a> "; break;
      case 2: body += "<a href=\"" + origin_ + "/page/" + std::to_string(m) + "\">p</a> "; break;
      default: body += "<a href=\"/page/" + std::to_string(m) + "#section-2\">p</a> "; break;
    }
  }
  body += "<a href=\"https://example.org/\">elsewhere</a> <a href=\"mailto:demo@example.org\">mail</a> ";
  if (n % 20 == 3) body += "<a href=\"/private/" + std::to_string(n) + "\">private</a> ";
  if (n % 25 == 7) body += "<a href=\"/missing/" + std::to_string(n) + "\">gone</a> ";
  body += "</nav>\n";
  // Filler text: 3-6 KB per page.
  int paragraphs = 6 + static_cast<int>(mix(static_cast<std::uint64_t>(n)) % 7);
  for (int p = 0; p < paragraphs; ++p) {
    body += "<p>";
    for (int w = 0; w < 70; ++w) {
      body += kWords[mix(static_cast<std::uint64_t>(n) * 1000 + p * 100 + w) % std::size(kWords)];
      body += w % 12 == 11 ? ". " : " ";
    }
    body += "</p>\n";
  }
  body += "</body></html>\n";
  return body;
}

}  // namespace crawler
