#include "output.hpp"
#include "stats.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using crawler::PageRecord;

TEST(Output, JsonLineHasEveryFieldAndParses) {
  PageRecord r;
  r.url = "http://a.example/x?q=\"1\"";
  r.final_url = "http://a.example/y";
  r.status = 200;
  r.content_type = "text/html; charset=utf-8";
  r.bytes = 1234;
  r.elapsed_ms = 12.5;
  r.depth = 2;
  r.title = "Tab\there, newline\nthere, back\\slash, \x01 control, caf\xC3\xA9";
  r.links = 7;
  std::string line = crawler::to_json_line(r);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["url"], r.url);
  EXPECT_EQ(j["final_url"], r.final_url);
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["content_type"], r.content_type);
  EXPECT_EQ(j["bytes"], 1234);
  EXPECT_DOUBLE_EQ(j["elapsed_ms"].get<double>(), 12.5);
  EXPECT_EQ(j["depth"], 2);
  EXPECT_EQ(j["title"], r.title);
  EXPECT_EQ(j["links"], 7);
  EXPECT_FALSE(j.contains("error"));
  r.error = "timeout: Operation timed out";
  EXPECT_EQ(nlohmann::json::parse(crawler::to_json_line(r))["error"], *r.error);
}

TEST(Output, InvalidUtf8BecomesReplacementCharacters) {
  std::string quoted = crawler::json_quote("ok \xFF\xC3 \xED\xA0\x80 end");
  auto j = nlohmann::json::parse(quoted);  // throws on invalid UTF-8
  EXPECT_EQ(j.get<std::string>().substr(0, 3), "ok ");
}

TEST(Output, WritesCompleteLinesToAFile) {
  char path[] = "/tmp/green-crawl-output-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    crawler::Output out(path);
    for (int i = 0; i < 5000; ++i) {
      PageRecord r;
      r.url = "http://a.example/" + std::to_string(i);
      out.write(r);
    }
  }
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_EQ(nlohmann::json::parse(line)["url"], "http://a.example/" + std::to_string(n));
    ++n;
  }
  EXPECT_EQ(n, 5000);
  std::remove(path);
}

TEST(Output, UnwritablePathThrowsNamingIt) {
  try {
    crawler::Output out("/nonexistent-dir/out.jsonl");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/out.jsonl"), std::string::npos);
  }
}

TEST(Stats, Percentiles) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(crawler::percentile(v, 50), 50);
  EXPECT_DOUBLE_EQ(crawler::percentile(v, 99), 99);
  EXPECT_DOUBLE_EQ(crawler::percentile(v, 100), 100);
  EXPECT_DOUBLE_EQ(crawler::percentile({7}, 99), 7);
  EXPECT_DOUBLE_EQ(crawler::percentile({}, 50), 0);
}

TEST(Stats, SummaryCountsErrorsByKind) {
  crawler::Stats s;
  PageRecord ok;
  ok.status = 200;
  ok.elapsed_ms = 10;
  PageRecord timeout;
  timeout.error = "timeout: Operation timed out after 100 ms";
  PageRecord missing;
  missing.status = 404;
  s.record(ok);
  s.record(timeout);
  s.record(timeout);
  s.record(missing);
  EXPECT_EQ(s.errors(), 3);
  std::string summary = s.summary(0);
  EXPECT_NE(summary.find("4 pages"), std::string::npos) << summary;
  EXPECT_NE(summary.find("timeout 2"), std::string::npos) << summary;
  EXPECT_NE(summary.find("http 4xx 1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("p50"), std::string::npos) << summary;
  EXPECT_NE(summary.find("p99"), std::string::npos) << summary;
}
