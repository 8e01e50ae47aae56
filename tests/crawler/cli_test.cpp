// green-crawl as a process: exit codes, messages, the output file, SIGINT. This binary
// does not link green: libev's default loop reaps every child of the process it runs in,
// which would take the crawler's exit status from waitpid here.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "test_server.hpp"
#include "test_util.hpp"

extern char** environ;

using crawler_test::json_lines;
using crawler_test::Request;
using crawler_test::site_page;
using crawler_test::tree_page;
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

namespace {

// A private redis-server on a free loopback port, for the life of the test.
class RedisServer {
 public:
  RedisServer() {
    port_ = free_port();
    std::string port = std::to_string(port_);
    std::vector<std::string> args{"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--protected-mode", "no"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; pid_ > 0 && i < 500 && !accepting(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~RedisServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  bool running() const { return pid_ > 0 && accepting(); }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }
  bool accepting() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

std::vector<std::string> shared_crawl_args(const RedisServer& redis, const std::string& id, const std::string& seed) {
  return {"--redis", redis.url(), "--crawl-id", id, "--max-pages", "100000", "--depth", "100000",
          "--concurrency", "20", "--per-host", "20", "--timeout", "2", "--retries", "0", "--quiet", seed};
}

}  // namespace

TEST(Cli, UnreachableRedisExitsWith2) {
  std::string err;
  EXPECT_EQ(run({"--redis", "redis://127.0.0.1:1", "--crawl-id", "x", "http://127.0.0.1/"}, nullptr, &err), 2);
  EXPECT_NE(err.find("cannot reach Redis at 127.0.0.1:1"), std::string::npos) << err;
}

TEST(Cli, ThreeProcessesShareOneCrawlThroughRedis) {
  RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << "redis-server is not installed";
  constexpr int kPages = 3000;
  TestServer server([](const Request& r) { return tree_page(r, kPages, 4, 0.002); });
  std::vector<std::unique_ptr<Process>> crawlers;
  for (int i = 0; i < 3; ++i)
    crawlers.push_back(std::make_unique<Process>(shared_crawl_args(redis, "three", server.url("/p/0"))));
  std::map<std::string, int> fetched;
  std::vector<std::size_t> per_process;
  for (auto& c : crawlers) {
    EXPECT_EQ(c->wait(), 0) << c->err.read();
    auto lines = json_lines(c->out.read());
    per_process.push_back(lines.size());
    for (auto& j : lines) ++fetched[j["url"].get<std::string>()];
  }
  EXPECT_EQ(fetched.size(), static_cast<std::size_t>(kPages));
  for (const auto& [url, n] : fetched) EXPECT_EQ(n, 1) << url << " fetched " << n << " times";
  for (const auto& [path, n] : server.all_requests()) {
    if (path != "/robots.txt") {
      EXPECT_EQ(n, 1) << path;
    }
  }
  for (std::size_t n : per_process) EXPECT_GT(n, 0u) << "every process should have taken part";
}

TEST(Cli, MaxPagesCountsAcrossProcesses) {
  RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << "redis-server is not installed";
  TestServer server([](const Request& r) { return site_page(r, 2000, 4, 0.002); });
  std::vector<std::unique_ptr<Process>> crawlers;
  for (int i = 0; i < 3; ++i) {
    auto args = shared_crawl_args(redis, "max", server.url("/p/0"));
    args[5] = "250";  // --max-pages
    crawlers.push_back(std::make_unique<Process>(args));
  }
  std::size_t total = 0;
  for (auto& c : crawlers) {
    EXPECT_EQ(c->wait(), 0) << c->err.read();
    total += json_lines(c->out.read()).size();
  }
  EXPECT_EQ(total, 250u);
}

TEST(Cli, TheOthersFinishTheCrawlOfAKilledProcess) {
  RedisServer redis;
  if (!redis.running()) GTEST_SKIP() << "redis-server is not installed";
  constexpr int kPages = 3000;
  TestServer server([](const Request& r) { return site_page(r, kPages, 4, 0.01); });
  std::vector<std::unique_ptr<Process>> crawlers;
  for (int i = 0; i < 3; ++i)
    crawlers.push_back(std::make_unique<Process>(shared_crawl_args(redis, "killed", server.url("/p/0"))));
  for (int i = 0; i < 3000 && server.total_requests() < 600; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(server.total_requests(), 600);
  kill(crawlers[0]->pid, SIGKILL);  // its claimed pages are leased; the leases expire
  EXPECT_EQ(crawlers[0]->wait(), 128 + SIGKILL);
  std::set<std::string> fetched;
  for (auto& j : json_lines(crawlers[0]->out.read())) fetched.insert(j["url"].get<std::string>());
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(crawlers[i]->wait(), 0) << crawlers[i]->err.read();
    for (auto& j : json_lines(crawlers[i]->out.read())) fetched.insert(j["url"].get<std::string>());
  }
  EXPECT_EQ(fetched.size(), static_cast<std::size_t>(kPages));
  for (int n = 0; n < kPages; ++n) EXPECT_GE(server.requests("/p/" + std::to_string(n)), 1) << n;
}
