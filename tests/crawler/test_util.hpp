// Helpers shared by the crawler's tests: a generated site, temporary files, JSON lines.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_server.hpp"

namespace crawler_test {

// Page N of a site of `size` pages links to the next `fanout` pages (mod size), so the
// whole site is reachable from /p/0.
inline Response site_page(const Request& req, int size, int fanout, double delay = 0) {
  Response r;
  r.delay = delay;
  if (req.path == "/robots.txt") {
    r.status = 404;
    r.body = "no robots";
    return r;
  }
  if (req.path.rfind("/p/", 0) != 0) {
    r.status = 404;
    return r;
  }
  int n = std::stoi(req.path.substr(3));
  r.body = "<html><head><title>Page " + std::to_string(n) + "</title></head><body>";
  for (int k = 1; k <= fanout; ++k) r.body += "<a href=\"/p/" + std::to_string((n + k) % size) + "\">next</a> ";
  r.body += "</body></html>";
  return r;
}

// Page N of a site of `size` pages links to pages fanout*N+1 .. fanout*N+fanout (those
// below size): a tree, so the frontier widens quickly and crawlers sharing it all find
// work (site_page's ring keeps only about `fanout` pages queued at any time).
inline Response tree_page(const Request& req, int size, int fanout, double delay = 0) {
  Response r = site_page(req, size, 0, delay);
  if (r.status != 200) return r;
  const int n = std::stoi(req.path.substr(3));
  const std::string end = "</body></html>";
  r.body.resize(r.body.size() - end.size());
  for (int k = 1; k <= fanout; ++k) {
    const long child = static_cast<long>(n) * fanout + k;
    if (child < size) r.body += "<a href=\"/p/" + std::to_string(child) + "\">child</a> ";
  }
  r.body += end;
  return r;
}

struct TempFile {
  std::string path;
  TempFile() {
    char name[] = "/tmp/green-crawl-test-XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    path = name;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { std::remove(path.c_str()); }
  std::string read() const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

// Every line parsed; the test fails if any line is not a complete JSON object.
inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  if (!text.empty()) {
    EXPECT_EQ(text.back(), '\n') << "the output ends inside a line";
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << line << " (" << e.what() << ")";
    }
  }
  return out;
}

}  // namespace crawler_test
