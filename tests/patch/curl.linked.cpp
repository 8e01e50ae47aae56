// A C++ program that links green::patch (no green-run, no LD_PRELOAD): libcurl's blocking
// easy API, called from 200 greenlets, runs the 200 requests concurrently. The server, in
// the same process, answers each request after 200 ms; one after another would take 40 s.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "check.hpp"

namespace {

constexpr int kRequests = 200;

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// Plain blocking socket code: cooperative because green::patch is linked in.
void serve(int lfd) {
  for (int i = 0; i < kRequests; ++i) {
    int c = accept(lfd, nullptr, nullptr);
    CHECK(c >= 0);
    green::spawn([c] {
      std::string request;
      char buf[2048];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      usleep(200000);
      std::string path = request.substr(4, request.find(' ', 4) - 4);
      std::string body = "hello " + path;
      std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nConnection: close\r\n\r\n" + body;
      CHECK(write(c, response.data(), response.size()) == static_cast<ssize_t>(response.size()));
      close(c);
    });
  }
}

}  // namespace

int main() {
  CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  CHECK(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && listen(lfd, 1024) == 0);
  CHECK(getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int port = ntohs(addr.sin_port);

  auto server = green::spawn(serve, lfd);
  const auto start = std::chrono::steady_clock::now();
  std::vector<green::Greenlet<std::string>> clients;
  for (int i = 0; i < kRequests; ++i)
    clients.push_back(green::spawn([i, port] {
      CURL* curl = curl_easy_init();
      std::string url = "http://127.0.0.1:" + std::to_string(port) + "/r" + std::to_string(i);
      std::string body;
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
      CURLcode rc = curl_easy_perform(curl);
      curl_easy_cleanup(curl);
      CHECK(rc == CURLE_OK);
      return body;
    }));
  for (int i = 0; i < kRequests; ++i) CHECK(clients[i].get(30.0) == "hello /r" + std::to_string(i));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(server.join(5.0));
  close(lfd);
  curl_global_cleanup();
  std::printf("%d libcurl requests in %d greenlets, each answered after 200 ms: %.3f s\n", kRequests, kRequests,
              seconds);
  // Serially this is 40 s; the bound leaves room for a loaded machine and sanitizers.
  CHECK(seconds < 2.0);
  return 0;
}
