#include "test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <utility>

namespace crawler_test {
namespace {

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string header_value(const std::string& head, const std::string& name) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto pos = lower.find("\r\n" + name + ":");
  if (pos == std::string::npos) return {};
  pos += name.size() + 3;
  auto end = head.find("\r\n", pos);
  std::string v = head.substr(pos, end - pos);
  while (!v.empty() && v.front() == ' ') v.erase(v.begin());
  return v;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

TestServer::TestServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 1024) != 0)
    throw std::runtime_error("test server: bind/listen failed");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TestServer::~TestServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mutex_);
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  }
  // No thread is added once the acceptor has stopped.
  for (auto& t : threads_) t.join();
}

std::string TestServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int TestServer::requests(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<double> TestServer::arrivals(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = arrivals_.find(path);
  return it == arrivals_.end() ? std::vector<double>{} : it->second;
}

std::map<std::string, int> TestServer::all_requests() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

void TestServer::accept_loop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_accepted_;
    std::lock_guard lock(mutex_);
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestServer::serve(int fd) {
  std::string buffer;
  char chunk[4096];
  bool open = true;
  while (open && !stopping_) {
    auto end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    std::string head = buffer.substr(0, end + 2);
    buffer.erase(0, end + 4);
    open = handle(fd, head);
  }
  // Unlisted before it is closed, so the destructor never shuts down a reused number.
  std::lock_guard lock(mutex_);
  std::erase(connections_, fd);
  ::close(fd);
}

bool TestServer::handle(int fd, const std::string& head) {
  Request request;
  auto sp1 = head.find(' ');
  auto sp2 = head.find(' ', sp1 + 1);
  request.path = head.substr(sp1 + 1, sp2 - sp1 - 1);
  request.host = header_value(head, "host");
  request.user_agent = header_value(head, "user-agent");
  {
    std::lock_guard lock(mutex_);
    request.attempt = ++counts_[request.path];
    arrivals_[request.path].push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count());
  }
  ++total_;
  int now = ++concurrent_;
  int seen = max_concurrent_.load();
  while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
  }
  // A request is in progress until its answer starts to go out: the client may send the
  // next one (on another connection) as soon as it has the answer.
  struct Leave {
    std::atomic<int>& n;
    bool left = false;
    void now() {
      if (!std::exchange(left, true)) --n;
    }
    ~Leave() { now(); }
  } leave{concurrent_};

  Response r = handler_(request);
  // Sleep in small steps so that a stopping server does not wait out a long delay.
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(r.delay);
  while (!stopping_ && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLRDHUP, 0};
    ::poll(&p, 1, 10);
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return false;  // the client gave up
  }
  if (r.action == Response::Action::reset) {
    linger l{1, 0};  // the close sends RST
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    return false;
  }
  if (r.action == Response::Action::hang) {
    while (!stopping_) {
      pollfd p{fd, POLLRDHUP, 0};
      ::poll(&p, 1, 10);
      if (p.revents) return false;
    }
    return false;
  }
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  out += "\r\n" + r.body;
  leave.now();
  return send_all(fd, out);
}

}  // namespace crawler_test
