#include "options.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

using crawler::Options;
using crawler::UsageError;

namespace {
Options parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"green-crawl"};
  argv.insert(argv.end(), args);
  return crawler::parse_options(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Options, Defaults) {
  Options o = parse({"http://Example.com"});
  EXPECT_EQ(o.seeds, (std::vector<std::string>{"http://example.com/"}));
  EXPECT_EQ(o.max_pages, 1000);
  EXPECT_TRUE(o.robots);
  EXPECT_TRUE(o.same_host);
  EXPECT_FALSE(o.quiet);
  EXPECT_FALSE(o.demo);
}

TEST(Options, EveryOption) {
  Options o = parse({"--max-pages", "50", "--concurrency=7", "--per-host", "3", "--delay", "0.5", "--depth", "0",
                     "--timeout", "2.5", "--retries", "4", "--any-host", "--user-agent", "bot/1", "--no-robots",
                     "--output", "out.jsonl", "--quiet", "http://a.example/", "https://b.example/x"});
  EXPECT_EQ(o.max_pages, 50);
  EXPECT_EQ(o.concurrency, 7);
  EXPECT_EQ(o.per_host, 3);
  EXPECT_DOUBLE_EQ(o.delay, 0.5);
  EXPECT_EQ(o.depth, 0);
  EXPECT_DOUBLE_EQ(o.timeout, 2.5);
  EXPECT_EQ(o.retries, 4);
  EXPECT_FALSE(o.same_host);
  EXPECT_EQ(o.user_agent, "bot/1");
  EXPECT_FALSE(o.robots);
  EXPECT_EQ(o.output, "out.jsonl");
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.seeds.size(), 2u);
  Options back = parse({"--any-host", "--same-host", "--no-robots", "--robots", "http://a.example/"});
  EXPECT_TRUE(back.same_host);
  EXPECT_TRUE(back.robots);
}

TEST(Options, DemoNeedsNoSeedAndCrawls2000Pages) {
  Options o = parse({"--demo"});
  EXPECT_TRUE(o.demo);
  EXPECT_EQ(o.max_pages, 2000);
  EXPECT_EQ(parse({"--demo", "--max-pages", "10"}).max_pages, 10);
}

TEST(Options, RedisNeedsACrawlId) {
  Options o = parse({"--redis", "redis://127.0.0.1:6379", "--crawl-id", "c1", "http://a.example/"});
  EXPECT_EQ(o.redis_url, "redis://127.0.0.1:6379");
  EXPECT_EQ(o.crawl_id, "c1");
  EXPECT_NE(error_of({"--redis", "redis://h", "http://a.example/"}).find("--crawl-id"), std::string::npos);
  EXPECT_NE(error_of({"--crawl-id", "c", "http://a.example/"}).find("--redis"), std::string::npos);
  EXPECT_NE(error_of({"--redis", "h:1", "--crawl-id", "c", "http://a.example/"}).find("redis://"), std::string::npos);
  EXPECT_NE(error_of({"--redis", "redis://h:99999", "--crawl-id", "c"}).find("port"), std::string::npos);
  // Without seed URLs, a process joins a crawl that others started.
  EXPECT_TRUE(parse({"--redis", "redis://127.0.0.1:6379/2", "--crawl-id", "c1"}).seeds.empty());
}

TEST(Options, HelpMentionsEveryOption) {
  EXPECT_TRUE(parse({"--help"}).help);
  std::string help = crawler::usage_text();
  for (const char* name : {"--max-pages", "--concurrency", "--per-host", "--delay", "--depth", "--timeout",
                           "--retries", "--same-host", "--any-host", "--user-agent", "--robots", "--no-robots",
                           "--output", "--quiet", "--redis", "--crawl-id", "--demo", "--help"})
    EXPECT_NE(help.find(name), std::string::npos) << name;
}

TEST(Options, BadInputNamesTheProblem) {
  EXPECT_NE(error_of({"--frobnicate", "http://a.example/"}).find("unknown option '--frobnicate'"), std::string::npos);
  EXPECT_NE(error_of({"not a url"}).find("'not a url'"), std::string::npos);
  EXPECT_NE(error_of({"ftp://a.example/"}).find("http"), std::string::npos);
  EXPECT_NE(error_of({}).find("no seed URL"), std::string::npos);
  EXPECT_NE(error_of({"--max-pages", "0", "http://a.example/"}).find("--max-pages"), std::string::npos);
  EXPECT_NE(error_of({"--max-pages", "ten", "http://a.example/"}).find("'ten'"), std::string::npos);
  EXPECT_NE(error_of({"--concurrency", "-1", "http://a.example/"}).find("--concurrency"), std::string::npos);
  EXPECT_NE(error_of({"--timeout", "0", "http://a.example/"}).find("--timeout"), std::string::npos);
  EXPECT_NE(error_of({"--delay", "nan", "http://a.example/"}).find("--delay"), std::string::npos);
  EXPECT_NE(error_of({"http://a.example/", "--depth"}).find("--depth needs a value"), std::string::npos);
  EXPECT_NE(error_of({"--quiet=yes", "http://a.example/"}).find("takes no value"), std::string::npos);
  EXPECT_NE(error_of({"--demo", "http://a.example/"}).find("--demo"), std::string::npos);
}
