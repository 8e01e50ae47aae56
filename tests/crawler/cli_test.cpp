// green-crawl as a process: exit codes, messages, the output file, SIGINT. This binary
// does not link green: libev's default loop reaps every child of the process it runs in,
// which would take the crawler's exit status from waitpid here.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "test_server.hpp"
#include "test_util.hpp"

extern char** environ;

using crawler_test::json_lines;
using crawler_test::Request;
using crawler_test::site_page;
using crawler_test::TempFile;
using crawler_test::TestServer;

namespace {

struct Process {
  pid_t pid = -1;
  TempFile out, err;
  Process(std::vector<std::string> args) {
    args.insert(args.begin(), GREEN_CRAWL_PATH);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.path.c_str(), O_WRONLY | O_TRUNC, 0);
    posix_spawn_file_actions_addopen(&actions, 2, err.path.c_str(), O_WRONLY | O_TRUNC, 0);
    EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  // The exit status (128 + signal if killed); kills the process after 60 s.
  int wait() {
    for (int i = 0; i < 6000; ++i) {
      int status = 0;
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ADD_FAILURE() << "green-crawl did not exit within 60 s";
    return -1;
  }
};

int run(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
  Process p(std::move(args));
  int status = p.wait();
  if (out) *out = p.out.read();
  if (err) *err = p.err.read();
  return status;
}

}  // namespace

TEST(Cli, MaxPagesIsExact) {
  TestServer server([](const Request& r) { return site_page(r, 500, 5); });
  std::string out, err;
  EXPECT_EQ(run({"--max-pages", "37", "--concurrency", "20", "--depth", "100", server.url("/p/0")}, &out, &err), 0) << err;
  auto lines = json_lines(out);
  EXPECT_EQ(lines.size(), 37u);
  std::set<std::string> urls;
  for (auto& j : lines) urls.insert(j["url"].get<std::string>());
  EXPECT_EQ(urls.size(), 37u);
  EXPECT_EQ(server.total_requests(), 38);  // and robots.txt
  EXPECT_NE(err.find("37 pages"), std::string::npos) << err;
  EXPECT_NE(err.find("p99"), std::string::npos) << err;
}

TEST(Cli, SigintLeavesCompleteJsonLinesAndASummary) {
  TestServer server([](const Request& r) { return site_page(r, 5000, 5, 0.05); });
  TempFile file;
  Process crawl({"--concurrency", "50", "--max-pages", "5000", "--depth", "1000", "--output", file.path,
                 server.url("/p/0")});
  // Interrupt once the crawl is well under way (pages written and requests in flight).
  for (int i = 0; i < 3000 && server.total_requests() < 200; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(server.total_requests(), 200);
  kill(crawl.pid, SIGINT);
  EXPECT_EQ(crawl.wait(), 130);
  auto lines = json_lines(file.read());
  EXPECT_GT(lines.size(), 0u);
  EXPECT_LT(lines.size(), 5000u);
  for (auto& j : lines) EXPECT_EQ(j["status"], 200) << j;
  std::string err = crawl.err.read();
  EXPECT_NE(err.find("pages"), std::string::npos) << err;
  EXPECT_NE(err.find("cancelled"), std::string::npos) << err;
}

TEST(Cli, HelpListsTheOptions) {
  std::string out;
  EXPECT_EQ(run({"--help"}, &out), 0);
  EXPECT_NE(out.find("--max-pages"), std::string::npos);
  EXPECT_NE(out.find("--demo"), std::string::npos);
}

TEST(Cli, BadInputExitsWithStatus2AndSaysWhy) {
  std::string err;
  EXPECT_EQ(run({"--no-such-option", "http://127.0.0.1/"}, nullptr, &err), 2);
  EXPECT_NE(err.find("unknown option '--no-such-option'"), std::string::npos) << err;
  EXPECT_EQ(run({"htp:/broken"}, nullptr, &err), 2);
  EXPECT_NE(err.find("'htp:/broken'"), std::string::npos) << err;
  EXPECT_EQ(run({"--output", "/nonexistent-dir/out.jsonl", "http://127.0.0.1/"}, nullptr, &err), 2);
  EXPECT_NE(err.find("/nonexistent-dir/out.jsonl"), std::string::npos) << err;
  EXPECT_EQ(run({"--max-pages", "-5", "http://127.0.0.1/"}, nullptr, &err), 2);
  EXPECT_NE(err.find("--max-pages"), std::string::npos) << err;
  EXPECT_EQ(run({}, nullptr, &err), 2);
  EXPECT_NE(err.find("no seed URL"), std::string::npos) << err;
}

TEST(Cli, DemoCrawlsItsOwnSite) {
  std::string out, err;
  EXPECT_EQ(run({"--demo", "--max-pages", "300"}, &out, &err), 0) << err;
  auto lines = json_lines(out);
  EXPECT_EQ(lines.size(), 300u);
  for (auto& j : lines) EXPECT_EQ(j["url"].get<std::string>().rfind("http://127.0.0.1:", 0), 0u) << j;
  EXPECT_NE(err.find("demo site of 10,000 pages"), std::string::npos) << err;
  EXPECT_NE(err.find("300 pages"), std::string::npos) << err;
}
