#include "frontier.hpp"

#include <gtest/gtest.h>

#include <set>

using crawler::Frontier;
using crawler::FrontierLimits;
using crawler::Robots;
using crawler::Task;

namespace {
FrontierLimits no_robots(int per_host = 8, double delay = 0, long max_pages = 1000) {
  FrontierLimits l;
  l.per_host = per_host;
  l.delay = delay;
  l.max_pages = max_pages;
  l.robots = false;
  return l;
}
}  // namespace

TEST(Frontier, EachUrlOnce) {
  Frontier f(no_robots());
  EXPECT_TRUE(f.add_seed("http://a.example/"));
  EXPECT_FALSE(f.add_seed("http://a.example/"));
  EXPECT_TRUE(f.add("http://a.example/x", 1));
  EXPECT_FALSE(f.add("http://a.example/x", 1));
  f.mark_seen("http://a.example/y");
  EXPECT_FALSE(f.add("http://a.example/y", 1));
  EXPECT_EQ(f.queued(), 2u);
}

TEST(Frontier, SameHostAndDepth) {
  FrontierLimits l = no_robots();
  l.max_depth = 2;
  Frontier f(l);
  f.add_seed("http://a.example/");
  EXPECT_FALSE(f.add("http://b.example/", 1));
  EXPECT_TRUE(f.add("https://a.example:8443/other-scheme-and-port", 1));
  EXPECT_TRUE(f.add("http://a.example/d2", 2));
  EXPECT_FALSE(f.add("http://a.example/d3", 3));
  l.same_host = false;
  Frontier any(l);
  any.add_seed("http://a.example/");
  EXPECT_TRUE(any.add("http://b.example/", 1));
}

TEST(Frontier, PerHostLimitAndRoundRobin) {
  Frontier f(no_robots(2));
  f.add_seed("http://a.example/");
  f.add_seed("http://b.example/");
  for (int i = 0; i < 5; ++i) {
    f.add("http://a.example/" + std::to_string(i), 1);
    f.add("http://b.example/" + std::to_string(i), 1);
  }
  std::vector<Task> taken;
  while (auto t = f.take(0)) taken.push_back(*t);
  ASSERT_EQ(taken.size(), 4u);  // two per host
  EXPECT_NE(taken[0].origin, taken[1].origin);  // alternates between hosts
  EXPECT_EQ(f.in_flight(), 4u);
  f.done(taken[0]);
  auto next = f.take(0);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->origin, taken[0].origin);
  EXPECT_FALSE(f.take(0));
}

TEST(Frontier, DelayBetweenStartsToOneHost) {
  Frontier f(no_robots(8, 1.5));
  f.add_seed("http://a.example/");
  f.add("http://a.example/2", 1);
  auto first = f.take(10.0);
  ASSERT_TRUE(first);
  f.done(*first);
  std::optional<double> retry_at;
  EXPECT_FALSE(f.take(10.5, &retry_at));
  ASSERT_TRUE(retry_at);
  EXPECT_DOUBLE_EQ(*retry_at, 11.5);
  EXPECT_TRUE(f.take(11.5));
}

TEST(Frontier, MaxPagesIsExact) {
  Frontier f(no_robots(100, 0, 3));
  f.add_seed("http://a.example/");
  for (int i = 0; i < 10; ++i) f.add("http://a.example/" + std::to_string(i), 1);
  std::vector<Task> taken;
  while (auto t = f.take(0)) taken.push_back(*t);
  EXPECT_EQ(taken.size(), 3u);
  EXPECT_FALSE(f.finished());  // three still in flight
  for (auto& t : taken) f.done(t);
  EXPECT_TRUE(f.finished());
  EXPECT_EQ(f.pages_taken(), 3);
}

TEST(Frontier, RobotsFirstThenRulesFilterTheQueue) {
  FrontierLimits l;
  Frontier f(l);
  f.add_seed("http://a.example/");
  f.add("http://a.example/private/1", 1);
  f.add("http://a.example/public/1", 1);
  auto robots = f.take(0);
  ASSERT_TRUE(robots);
  EXPECT_TRUE(robots->robots);
  EXPECT_EQ(robots->url, "http://a.example/robots.txt");
  EXPECT_FALSE(f.take(0));  // pages wait for the rules
  EXPECT_FALSE(f.finished());
  f.set_robots(robots->origin, Robots::parse("User-agent: *\nDisallow: /private\n", "green-crawl"));
  f.done(*robots);
  EXPECT_EQ(f.disallowed(), 1);
  std::set<std::string> pages;
  while (auto t = f.take(0)) pages.insert(t->url);
  EXPECT_EQ(pages, (std::set<std::string>{"http://a.example/", "http://a.example/public/1"}));
  EXPECT_FALSE(f.add("http://a.example/private/2", 1));  // checked on arrival now
  EXPECT_EQ(f.disallowed(), 2);
}

TEST(Frontier, RobotsCrawlDelayRaisesTheDelay) {
  FrontierLimits l;
  Frontier f(l);
  f.add_seed("http://a.example/");
  f.add("http://a.example/2", 1);
  auto robots = f.take(0);
  f.set_robots(robots->origin, Robots::parse("User-agent: *\nCrawl-delay: 3\n", "x"));
  f.done(*robots);
  EXPECT_TRUE(f.take(0));  // robots.txt started with no delay before it
  std::optional<double> retry_at;
  EXPECT_FALSE(f.take(2.0, &retry_at));
  ASSERT_TRUE(retry_at);
  EXPECT_DOUBLE_EQ(*retry_at, 3.0);
  EXPECT_TRUE(f.take(3.0));
}

TEST(Frontier, CancelledRobotsFetchDoesNotStrandPages) {
  Frontier f(FrontierLimits{});
  f.add_seed("http://a.example/");
  auto robots = f.take(0);
  f.done(*robots);  // no set_robots
  auto page = f.take(0);
  ASSERT_TRUE(page);
  EXPECT_FALSE(page->robots);
}
