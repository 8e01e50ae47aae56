// The --demo site: served by green's StreamServer in this process and crawled by the
// Crawler on the same OS thread (libcurl made cooperative by green::patch).
#include "demo_site.hpp"

#include <gtest/gtest.h>

#include <set>

#include "crawler.hpp"
#include "test_util.hpp"

using crawler_test::json_lines;
using crawler_test::TempFile;

TEST(Demo, CrawlsTheGeneratedSite) {
  crawler::DemoSite site(1000, 0.005);
  site.start();
  crawler::Options o;
  o.seeds = {site.url()};
  o.quiet = true;
  o.max_pages = 400;
  o.concurrency = 50;
  o.per_host = 50;
  o.depth = 1000;
  TempFile out;
  crawler::Stats stats;
  {
    crawler::Output output(out.path);
    crawler::Crawler crawl(o, output, 0.01);
    crawl.run();
    stats = crawl.stats();
  }
  site.stop();
  auto lines = json_lines(out.read());
  ASSERT_EQ(lines.size(), 400u);
  std::set<std::string> urls;
  int ok = 0;
  for (auto& j : lines) {
    std::string url = j["url"];
    urls.insert(url);
    EXPECT_EQ(url.find("/private/"), std::string::npos) << "robots.txt disallows " << url;
    EXPECT_EQ(url.find('#'), std::string::npos) << url;
    if (j["status"] == 200) {
      ++ok;
      EXPECT_EQ(j["title"].get<std::string>().rfind("Demo page ", 0), 0u) << j;
      EXPECT_GE(j["links"].get<int>(), 10);
    } else {
      EXPECT_NE(url.find("/missing/"), std::string::npos) << j;
      EXPECT_EQ(j["status"], 404);
    }
  }
  EXPECT_EQ(urls.size(), 400u);
  EXPECT_GT(ok, 350);
  EXPECT_GT(site.requests(), 400u);  // robots.txt and the retried 503s too
}
