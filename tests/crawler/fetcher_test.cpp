// The fetcher against a local server: retries, redirects, timeouts, keep-alive, and
// (linked with green::patch) requests in many greenlets at once on one OS thread.
#include "fetcher.hpp"

#include <gtest/gtest.h>

#include <green/event.hpp>
#include <green/greenlet.hpp>
#include <green/hub.hpp>

#include <vector>

#include "test_server.hpp"

using crawler::FetchConfig;
using crawler::Fetcher;
using crawler_test::Response;
using crawler_test::TestServer;

namespace {
FetchConfig quick(int retries = 2, double timeout = 5) {
  FetchConfig c;
  c.retries = retries;
  c.timeout = timeout;
  c.backoff = 0.01;
  return c;
}

Response page(const std::string& body) {
  Response r;
  r.body = body;
  return r;
}
}  // namespace

TEST(Fetcher, FetchesAPage) {
  TestServer server([](const auto& req) {
    EXPECT_EQ(req.user_agent, "green-crawl/0.1");
    return page("<title>hi</title>");
  });
  Fetcher f(quick());
  auto r = f.fetch(server.url("/x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<title>hi</title>");
  EXPECT_EQ(r.bytes, r.body.size());
  EXPECT_TRUE(r.is_html());
  EXPECT_EQ(r.attempts, 1);
  EXPECT_TRUE(r.error.empty());
}

TEST(Fetcher, RetriesA503ThenSucceeds) {
  TestServer server([](const auto& req) {
    Response r = page("ok");
    if (req.attempt <= 2) r.status = 503;
    return r;
  });
  Fetcher f(quick(2));
  auto r = f.fetch(server.url("/flaky"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(server.requests("/flaky"), 3);
}

TEST(Fetcher, GivesUpAfterItsRetries) {
  TestServer server([](const auto&) {
    Response r = page("down");
    r.status = 503;
    return r;
  });
  Fetcher f(quick(1));
  auto r = f.fetch(server.url("/down"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(server.requests("/down"), 2);
}

TEST(Fetcher, DoesNotRetryA404) {
  TestServer server([](const auto&) {
    Response r = page("missing");
    r.status = 404;
    return r;
  });
  Fetcher f(quick(3));
  EXPECT_EQ(f.fetch(server.url("/missing")).attempts, 1);
}

TEST(Fetcher, RetriesAReset) {
  TestServer server([](const auto& req) {
    Response r = page("after reset");
    if (req.attempt == 1) r.action = Response::Action::reset;
    return r;
  });
  Fetcher f(quick(2));
  auto r = f.fetch(server.url("/reset"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "after reset");
  EXPECT_EQ(r.attempts, 2);
}

TEST(Fetcher, ReportsAResetWhenRetriesRunOut) {
  TestServer server([](const auto&) {
    Response r;
    r.action = Response::Action::reset;
    return r;
  });
  Fetcher f(quick(0));
  auto r = f.fetch(server.url("/reset"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("reset:", 0), 0u) << r.error;
}

TEST(Fetcher, FollowsRedirects) {
  TestServer server([](const auto& req) {
    if (req.path == "/old") {
      Response r;
      r.status = 301;
      r.headers = {{"Location", "/new"}};
      return r;
    }
    return page("new");
  });
  Fetcher f(quick());
  auto r = f.fetch(server.url("/old"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.final_url, server.url("/new"));
  EXPECT_EQ(r.body, "new");
}

TEST(Fetcher, TimesOutAndRetries) {
  TestServer server([](const auto& req) {
    Response r = page("late");
    if (req.attempt == 1) r.action = Response::Action::hang;
    return r;
  });
  Fetcher f(quick(1, 0.3));
  auto r = f.fetch(server.url("/slow"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2);
  Fetcher once(quick(0, 0.3));
  TestServer hanging([](const auto&) {
    Response r;
    r.action = Response::Action::hang;
    return r;
  });
  auto t = once.fetch(hanging.url("/hang"));
  EXPECT_EQ(t.error.rfind("timeout:", 0), 0u) << t.error;
  EXPECT_GE(t.elapsed_ms, 250);
}

TEST(Fetcher, ReusesItsConnection) {
  TestServer server([](const auto&) { return page("x"); });
  Fetcher f(quick());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(f.fetch(server.url("/k" + std::to_string(i))).status, 200);
  EXPECT_EQ(server.connections(), 1);
}

TEST(Fetcher, ManyGreenletsFetchAtOnce) {
  // Linked with green::patch, libcurl's waits yield: all requests are at the server at once.
  constexpr int kGreenlets = 20;
  TestServer server([](const auto&) {
    Response r = page("slow");
    r.delay = 0.3;
    return r;
  });
  std::vector<green::Greenlet<long>> gs;
  for (int i = 0; i < kGreenlets; ++i)
    gs.push_back(green::spawn([&server, i] {
      Fetcher f(quick());
      return f.fetch(server.url("/c" + std::to_string(i))).status;
    }));
  green::joinall(gs);
  for (auto& g : gs) EXPECT_EQ(g.get(), 200);
  EXPECT_EQ(server.max_concurrent(), kGreenlets);
}

TEST(Fetcher, StopCancelsARequestInFlight) {
  TestServer server([](const auto&) {
    Response r;
    r.action = Response::Action::hang;
    return r;
  });
  green::Event stop;
  FetchConfig c = quick(3, 30);
  c.stop = &stop;
  auto stopper = green::spawn([&stop] {
    green::sleep(0.2);
    stop.set();
  });
  Fetcher f(c);
  auto r = f.fetch(server.url("/hang"));
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(r.elapsed_ms, 10000);
  stopper.join();
}
