#include "robots.hpp"

#include <gtest/gtest.h>

using crawler::Robots;

TEST(Robots, ProductToken) {
  EXPECT_EQ(crawler::robots_token("green-crawl/0.1 (+https://example.org)"), "green-crawl");
  EXPECT_EQ(crawler::robots_token("MyBot"), "mybot");
}

TEST(Robots, StarGroupAppliesWhenNoGroupNamesUs) {
  auto r = Robots::parse("User-agent: *\nDisallow: /private\n\nUser-agent: other\nDisallow: /\n", "green-crawl/0.1");
  EXPECT_TRUE(r.allowed("/"));
  EXPECT_TRUE(r.allowed("/public/x"));
  EXPECT_FALSE(r.allowed("/private"));
  EXPECT_FALSE(r.allowed("/private/x?y=1"));
  EXPECT_FALSE(r.allowed("/privateer"));  // a prefix match, as the RFC says
}

TEST(Robots, OurGroupReplacesTheStarGroup) {
  auto r = Robots::parse(
      "User-agent: *\nDisallow: /\n\n"
      "User-agent: Green-Crawl\nDisallow: /secret\n",
      "green-crawl/0.1");
  EXPECT_TRUE(r.allowed("/anything"));
  EXPECT_FALSE(r.allowed("/secret/page"));
}

TEST(Robots, GroupsForUsAreMergedAndAgentLinesShareAGroup) {
  auto r = Robots::parse(
      "User-agent: a\nUser-agent: green-crawl\nDisallow: /one\n\n"
      "User-agent: b\nDisallow: /three\n\n"
      "User-agent: green-crawl\nDisallow: /two\n",
      "green-crawl");
  EXPECT_FALSE(r.allowed("/one"));
  EXPECT_FALSE(r.allowed("/two"));
  EXPECT_TRUE(r.allowed("/three"));
}

TEST(Robots, LongestMatchWinsAllowWinsTies) {
  auto r = Robots::parse(
      "User-agent: *\nDisallow: /shop\nAllow: /shop/public\nDisallow: /shop/public/hidden\n"
      "Allow: /tie\nDisallow: /tie\n",
      "x");
  EXPECT_FALSE(r.allowed("/shop/cart"));
  EXPECT_TRUE(r.allowed("/shop/public/item"));
  EXPECT_FALSE(r.allowed("/shop/public/hidden/1"));
  EXPECT_TRUE(r.allowed("/tie"));
}

TEST(Robots, WildcardsAndEndAnchor) {
  auto r = Robots::parse("User-agent: *\nDisallow: /*.pdf$\nDisallow: /*/print\nDisallow: /q?*sort=\n", "x");
  EXPECT_FALSE(r.allowed("/docs/a.pdf"));
  EXPECT_TRUE(r.allowed("/docs/a.pdf?download=1"));
  EXPECT_TRUE(r.allowed("/docs/a.pdfx"));
  EXPECT_FALSE(r.allowed("/article/7/print"));
  EXPECT_FALSE(r.allowed("/q?page=2&sort=asc"));
  EXPECT_TRUE(r.allowed("/q?page=2"));
}

TEST(Robots, EmptyDisallowCommentsCaseAndCrLf) {
  auto r = Robots::parse("# hello\r\nUSER-AGENT: *  # all\r\nDisallow:\r\nDISALLOW: /tmp # scratch\r\n", "x");
  EXPECT_TRUE(r.allowed("/"));
  EXPECT_FALSE(r.allowed("/tmp/file"));
}

TEST(Robots, RulesBeforeAnyUserAgentAndGarbageAreIgnored) {
  auto r = Robots::parse("Disallow: /\nthis is not a rule\n<html>oops</html>\nUser-agent: *\nDisallow: /x\n", "x");
  EXPECT_TRUE(r.allowed("/"));
  EXPECT_FALSE(r.allowed("/x"));
}

TEST(Robots, NoRulesAllowEverything) {
  EXPECT_TRUE(Robots::parse("", "x").allowed("/a"));
  EXPECT_TRUE(Robots::allow_all().allowed("/a"));
  EXPECT_FALSE(Robots::disallow_all().allowed("/"));
  EXPECT_FALSE(Robots::disallow_all().allowed("/a?b"));
}

TEST(Robots, CrawlDelayOfTheChosenGroup) {
  auto r = Robots::parse("User-agent: *\nCrawl-delay: 2.5\nUser-agent: green-crawl\nCrawl-delay: 0.5\n", "green-crawl");
  ASSERT_TRUE(r.crawl_delay());
  EXPECT_DOUBLE_EQ(*r.crawl_delay(), 0.5);
}

TEST(Robots, PathologicalWildcardsStayFast) {
  std::string rule = "User-agent: *\nDisallow: /";
  for (int i = 0; i < 50; ++i) rule += "*a";
  rule += "b\n";
  auto r = Robots::parse(rule, "x");
  EXPECT_TRUE(r.allowed("/" + std::string(2000, 'a')));
}

// Found by fuzz/robots_fuzz: "Crawl-delay: inf" was kept and stalled the origin for ever.
TEST(Robots, CrawlDelayMustBeFinite) {
  for (const char* bad : {"inf", "INFINITY", "1e999", "nan", "-1"})
    EXPECT_FALSE(Robots::parse(std::string("User-agent: *\nCrawl-delay: ") + bad + "\n", "x").crawl_delay()) << bad;
  EXPECT_DOUBLE_EQ(*Robots::parse("User-agent: *\nCrawl-delay: 1e3\n", "x").crawl_delay(), 1000.0);
}
