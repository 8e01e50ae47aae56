// green: the crawler's fetch loop. A green::Pool of CONCURRENCY greenlets, each with one
// libcurl easy handle (blocking calls, cooperative through green::patch), fetch URLS URLs.
// Usage: green_fetch URL_PREFIX URLS CONCURRENCY reuse|new   (prints the wall time, s)
#include <curl/curl.h>

#include <green/greenlet.hpp>
#include <green/pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

static std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  std::string prefix = argv[1];
  int urls = std::atoi(argv[2]), concurrency = std::atoi(argv[3]);
  bool reuse = std::string(argv[4]) == "reuse";
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int next = 0, failed = 0;
  auto start = std::chrono::steady_clock::now();
  green::Pool pool(concurrency);
  for (int w = 0; w < concurrency; ++w)
    pool.spawn([&] {
      CURL* easy = curl_easy_init();
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
      curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
      if (!reuse) curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
      while (next < urls) {
        std::string url = prefix + std::to_string(next++);
        curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
        if (curl_easy_perform(easy) != CURLE_OK) ++failed;
      }
      curl_easy_cleanup(easy);
    });
  pool.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.3f\n", s);
  if (failed) std::fprintf(stderr, "green_fetch: %d failed\n", failed);
  return failed ? 1 : 0;
}
