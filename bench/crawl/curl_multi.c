/* curl_multi: the event-driven limit. One thread, CONCURRENCY easy handles driven by
   curl_multi_poll; a finished handle takes the next URL at once.
   Usage: curl_multi URL_PREFIX URLS CONCURRENCY reuse|new   (prints the wall time, s) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char* p, size_t size, size_t n, void* u) { (void)p; (void)u; return size * n; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const char* prefix = argv[1];
  int urls = atoi(argv[2]), concurrency = atoi(argv[3]), reuse = strcmp(argv[4], "reuse") == 0;
  int next = 0, done = 0, failed = 0, running = 0;
  char url[512];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
  double start = now();
  for (int i = 0; i < concurrency && next < urls; ++i) {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    if (!reuse) curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    snprintf(url, sizeof url, "%s%d", prefix, next++);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_multi_add_handle(multi, e);
  }
  while (done < urls) {
    curl_multi_perform(multi, &running);
    CURLMsg* m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      if (m->data.result != CURLE_OK) ++failed;
      ++done;
      curl_multi_remove_handle(multi, e);
      if (next < urls) {
        snprintf(url, sizeof url, "%s%d", prefix, next++);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_multi_add_handle(multi, e);
      } else {
        curl_easy_cleanup(e);
      }
    }
    if (done < urls) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  printf("%.3f\n", now() - start);
  if (failed) fprintf(stderr, "curl_multi: %d failed\n", failed);
  curl_multi_cleanup(multi);
  return failed ? 1 : 0;
}
