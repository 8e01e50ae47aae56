// A small HTTP/1.1 server for the crawler's tests: real OS threads and blocking sockets,
// one thread per connection, keep-alive, on 127.0.0.1 and an ephemeral port. It knows
// nothing of green, so it answers whatever the code under test does to its own thread.
// It counts requests per path and the most requests it ever had in progress at once
// (overall and per Host header).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace crawler_test {

struct Response {
  enum class Action { reply, reset, hang };
  int status = 200;
  std::string content_type = "text/html";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  double delay = 0;  // seconds before answering
  Action action = Action::reply;
};

struct Request {
  std::string path;    // with the query
  std::string host;    // the Host header
  std::string user_agent;
  int attempt = 1;     // how many times this path was requested, this one included
};

class TestServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  explicit TestServer(Handler handler);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  int requests(const std::string& path) const;
  int total_requests() const { return total_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }
  int connections() const { return connections_accepted_.load(); }
  // Seconds (steady clock) at which each request for `path` arrived.
  std::vector<double> arrivals(const std::string& path) const;
  std::map<std::string, int> all_requests() const;

 private:
  void accept_loop();
  void serve(int fd);
  bool handle(int fd, const std::string& head);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> total_{0};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  mutable std::mutex mutex_;
  std::atomic<int> connections_accepted_{0};
  std::map<std::string, int> counts_;
  std::map<std::string, std::vector<double>> arrivals_;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace crawler_test
