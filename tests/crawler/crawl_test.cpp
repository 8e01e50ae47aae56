// Whole crawls of local test servers, in-process with the Crawler (cli_test.cpp runs the
// green-crawl binary).
#include "crawler.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test_server.hpp"
#include "test_util.hpp"

using crawler_test::json_lines;
using crawler_test::Request;
using crawler_test::Response;
using crawler_test::site_page;
using crawler_test::TempFile;
using crawler_test::TestServer;

namespace {

crawler::Options options_for(const std::string& seed) {
  crawler::Options o;
  o.seeds = {seed};
  o.quiet = true;
  o.timeout = 5;
  return o;
}

std::vector<nlohmann::json> crawl(const crawler::Options& o, crawler::Stats* stats = nullptr) {
  TempFile out;
  {
    crawler::Output output(out.path);
    crawler::Crawler c(o, output, 0.01);
    c.run();
    if (stats) *stats = c.stats();
  }
  return json_lines(out.read());
}

}  // namespace

TEST(Crawl, FetchesTheWholeSiteOnce) {
  TestServer server([](const Request& r) { return site_page(r, 100, 3); });
  auto o = options_for(server.url("/p/0"));
  o.depth = 1000;
  auto lines = crawl(o);
  std::set<std::string> urls;
  for (auto& j : lines) {
    urls.insert(j["url"].get<std::string>());
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["links"], 3);
    EXPECT_EQ(j["title"].get<std::string>().rfind("Page ", 0), 0u);
  }
  EXPECT_EQ(lines.size(), 100u);
  EXPECT_EQ(urls.size(), 100u);
  for (const auto& [path, count] : server.all_requests()) EXPECT_EQ(count, 1) << path;
}

TEST(Crawl, PerHostLimitIsNeverExceeded) {
  TestServer server([](const Request& r) { return site_page(r, 300, 10, 0.02); });
  auto o = options_for(server.url("/p/0"));
  o.concurrency = 50;
  o.per_host = 3;
  o.max_pages = 150;
  o.depth = 1000;
  auto lines = crawl(o);
  EXPECT_EQ(lines.size(), 150u);
  EXPECT_LE(server.max_concurrent(), 3);
  EXPECT_EQ(server.max_concurrent(), 3) << "the workers should have filled the host's three slots";
}

TEST(Crawl, PerHostLimitCountsEachHostSeparately) {
  // 127.0.0.1 and localhost are two hosts to the crawler, one server to the test.
  std::atomic<int> in_flight_by_host[2] = {0, 0};
  std::atomic<int> max_by_host[2] = {0, 0};
  TestServer server([&](const Request& r) {
    int h = r.host.rfind("localhost", 0) == 0 ? 1 : 0;
    int now = ++in_flight_by_host[h];
    int seen = max_by_host[h].load();
    while (now > seen && !max_by_host[h].compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --in_flight_by_host[h];
    return site_page(r, 60, 5);
  });
  auto o = options_for(server.url("/p/0"));
  o.seeds.push_back("http://localhost:" + std::to_string(server.port()) + "/p/0");
  o.concurrency = 40;
  o.per_host = 2;
  o.depth = 1000;
  auto lines = crawl(o);
  EXPECT_EQ(lines.size(), 120u);
  EXPECT_EQ(max_by_host[0].load(), 2);
  EXPECT_EQ(max_by_host[1].load(), 2);
  EXPECT_EQ(server.max_concurrent(), 4);
}

TEST(Crawl, DelaySpacesRequestsToAHost) {
  TestServer server([](const Request& r) { return site_page(r, 5, 1); });
  auto o = options_for(server.url("/p/0"));
  o.delay = 0.1;
  o.robots = false;
  EXPECT_EQ(crawl(o).size(), 5u);
  std::vector<double> starts;
  for (int i = 0; i < 5; ++i) starts.push_back(server.arrivals("/p/" + std::to_string(i)).at(0));
  std::sort(starts.begin(), starts.end());
  // Arrivals at the server, not starts at the client: each carries the client's own
  // latency to the server (tens of ms under ASan on a loaded machine). Without the delay
  // they would come a few ms apart.
  for (std::size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 1], 0.05);
}

TEST(Crawl, RobotsDisallowedPagesAreNeverRequested) {
  TestServer server([](const Request& r) {
    Response resp;
    if (r.path == "/robots.txt") {
      resp.content_type = "text/plain";
      resp.body = "User-agent: *\nDisallow: /private\n\nUser-agent: other\nDisallow: /\n";
      return resp;
    }
    resp.body = "<a href=/private/1>p</a><a href=/public/1>q</a><a href=/public/2>r</a>";
    return resp;
  });
  crawler::Stats stats;
  auto lines = crawl(options_for(server.url("/")), &stats);
  EXPECT_EQ(lines.size(), 3u);
  EXPECT_EQ(server.requests("/robots.txt"), 1);
  EXPECT_EQ(server.requests("/private/1"), 0);
  EXPECT_EQ(server.requests("/public/2"), 1);

  auto o = options_for(server.url("/"));
  o.robots = false;
  TestServer again([](const Request&) {
    Response resp;
    resp.body = "<a href=/private/1>p</a>";
    return resp;
  });
  o.seeds = {again.url("/")};
  EXPECT_EQ(crawl(o).size(), 2u);
  EXPECT_EQ(again.requests("/robots.txt"), 0);
}

TEST(Crawl, RetriesAndRedirectsShowInTheOutput) {
  TestServer server([](const Request& r) {
    Response resp;
    if (r.path == "/") {
      resp.body = "<a href=/flaky>f</a><a href=/moved>m</a><a href=/reset>r</a>";
    } else if (r.path == "/target") {
      resp.body = "<a href=/target>me</a><a href=/>home</a>";
    } else if (r.path == "/flaky") {
      if (r.attempt < 3) resp.status = 503;
    } else if (r.path == "/moved") {
      resp.status = 302;
      resp.headers = {{"Location", "/target"}};
    } else if (r.path == "/reset") {
      if (r.attempt == 1) resp.action = Response::Action::reset;
    } else if (r.path == "/robots.txt") {
      resp.status = 404;
    }
    return resp;
  });
  auto o = options_for(server.url("/"));
  o.retries = 3;
  std::map<std::string, nlohmann::json> by_url;
  for (auto& j : crawl(o)) by_url[j["url"]] = j;
  ASSERT_TRUE(by_url.contains(server.url("/flaky")));
  EXPECT_EQ(by_url[server.url("/flaky")]["status"], 200);
  EXPECT_EQ(by_url[server.url("/flaky")]["attempts"], 3);
  EXPECT_EQ(by_url[server.url("/reset")]["status"], 200);
  EXPECT_EQ(server.requests("/reset"), 2);  // curl itself retries a reset on a reused connection
  EXPECT_EQ(by_url[server.url("/moved")]["final_url"], server.url("/target"));
  EXPECT_FALSE(by_url.contains(server.url("/target"))) << "where a redirect ended counts as fetched";
  EXPECT_EQ(server.requests("/target"), 1);
}

TEST(Crawl, TimeoutsAreReportedAsErrors) {
  TestServer server([](const Request& r) {
    Response resp;
    if (r.path == "/") resp.body = "<a href=/hang>h</a>";
    if (r.path == "/hang") resp.action = Response::Action::hang;
    if (r.path == "/robots.txt") resp.status = 404;
    return resp;
  });
  auto o = options_for(server.url("/"));
  o.timeout = 0.3;
  o.retries = 1;
  crawler::Stats stats;
  auto lines = crawl(o, &stats);
  ASSERT_EQ(lines.size(), 2u);
  auto& hang = lines[0]["url"] == server.url("/hang") ? lines[0] : lines[1];
  EXPECT_EQ(hang["status"], 0);
  EXPECT_EQ(hang["attempts"], 2);
  EXPECT_EQ(hang["error"].get<std::string>().rfind("timeout:", 0), 0u);
  EXPECT_EQ(stats.errors_by_kind().at("timeout"), 1);
}

TEST(Crawl, UnreachableRobotsDisallowsTheHost) {
  TestServer server([](const Request& r) {
    Response resp;
    if (r.path == "/robots.txt") resp.status = 503;
    return resp;
  });
  auto o = options_for(server.url("/"));
  o.retries = 1;
  EXPECT_EQ(crawl(o).size(), 0u);
  EXPECT_EQ(server.requests("/"), 0);
  EXPECT_EQ(server.requests("/robots.txt"), 2);
}

