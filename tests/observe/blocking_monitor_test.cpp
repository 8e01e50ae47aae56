#include "green/blocking_monitor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include <sys/wait.h>
#include <unistd.h>

#include "green/green.hpp"

using namespace std::chrono_literals;

namespace {

// Exported (the test binary links with ENABLE_EXPORTS) so dladdr can name it.
extern "C" __attribute__((noinline)) void green_test_spin_for(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    asm volatile("" ::: "memory");
  }
}

struct Reports {
  std::mutex mutex;
  std::vector<green::BlockingReport> list;
  green::BlockingHandler handler() {
    return [this](const green::BlockingReport& r) {
      std::lock_guard guard(mutex);
      list.push_back(r);
    };
  }
  std::vector<green::BlockingReport> take() {
    std::lock_guard guard(mutex);
    return std::move(list);
  }
  // Reports about one greenlet. Others may come from a loaded machine descheduling a
  // thread while some greenlet runs (a stall too, as far as the hub can tell).
  std::vector<green::BlockingReport> take(const std::string& name) {
    auto all = take();
    std::erase_if(all, [&](const green::BlockingReport& r) { return r.greenlet_name != name; });
    return all;
  }
};

struct MonitorOff {
  ~MonitorOff() { green::set_max_blocking(0ms); }
};

TEST(BlockingMonitor, ReportsTheGreenletThatDoesNotYieldOnce) {
  MonitorOff off;
  Reports reports;
  green::set_max_blocking(50ms, reports.handler());
  EXPECT_EQ(green::max_blocking(), 50ms);
  auto cruncher = green::spawn(green::SpawnOptions{.name = "cruncher"}, [] { green_test_spin_for(0.5); });
  cruncher.join();
  green::set_max_blocking(0ms);
  EXPECT_EQ(green::max_blocking(), 0ms);
  const auto list = reports.take("cruncher");
  ASSERT_EQ(list.size(), 1u);  // once per stall
  const green::BlockingReport& r = list[0];
  EXPECT_EQ(r.greenlet_name, "cruncher");
  EXPECT_EQ(r.greenlet_id, cruncher.id());
  EXPECT_EQ(r.tid, green::get_hub().tid());
  EXPECT_GE(r.blocked_for, 50ms);
  EXPECT_EQ(r.limit, 50ms);
  EXPECT_NE(r.spawn_site.find("ReportsTheGreenletThatDoesNotYieldOnce"), std::string::npos) << r.spawn_site;
  EXPECT_TRUE(std::any_of(r.backtrace.begin(), r.backtrace.end(),
                          [](const std::string& f) { return f.find("green_test_spin_for") != std::string::npos; }))
      << r.format();
  EXPECT_NE(r.format().find("greenlet 'cruncher' (id " + std::to_string(cruncher.id()) + ") has not yielded"),
            std::string::npos)
      << r.format();
}

TEST(BlockingMonitor, QuietWhileTheHubWaitsOrGreenletsYield) {
  MonitorOff off;
  Reports reports;
  // Generous: a loaded machine may deschedule the yielder for a while between its yields.
  green::set_max_blocking(250ms, reports.handler());
  // The hub blocks in its loop while this one sleeps: not a stall.
  auto sleeper = green::spawn(green::SpawnOptions{.name = "sleeper"}, [] { green::sleep(0.6); });
  auto yielder = green::spawn(green::SpawnOptions{.name = "yielder"}, [] {
    for (int i = 0; i < 20; ++i) {
      green_test_spin_for(0.002);
      green::sleep(0);
    }
  });
  green::joinall({sleeper, yielder});
  green::set_max_blocking(0ms);
  const auto list = reports.take();
  for (const auto& r : list) {
    EXPECT_NE(r.greenlet_name, "sleeper");
    EXPECT_NE(r.greenlet_name, "yielder");
  }
}

TEST(BlockingMonitor, WatchesHubsOnOtherThreads) {
  MonitorOff off;
  Reports reports;
  green::set_max_blocking(40ms, reports.handler());
  green::HubThread thread("monitor-test");
  const int tid = thread.spawn([] {
    green::getcurrent()->set_name("remote-cruncher");
    green_test_spin_for(0.3);
    return green::hub_stats().tid;
  }).get();
  green::set_max_blocking(0ms);
  const auto list = reports.take("remote-cruncher");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tid, tid);
  EXPECT_EQ(list[0].greenlet_name, "remote-cruncher");
}

TEST(BlockingMonitor, DefaultHandlerPrintsOnStderr) {
  MonitorOff off;
  testing::internal::CaptureStderr();
  green::set_max_blocking(40ms);
  green::spawn(green::SpawnOptions{.name = "printer"}, [] { green_test_spin_for(0.3); }).join();
  green::set_max_blocking(0ms);
  const std::string text = testing::internal::GetCapturedStderr();
  EXPECT_NE(text.find("green: blocking monitor: the hub of thread"), std::string::npos) << text;
  EXPECT_NE(text.find("greenlet 'printer'"), std::string::npos) << text;
  EXPECT_NE(text.find("  #0 "), std::string::npos) << text;
}

TEST(BlockingMonitor, DoesNotKeepLoopExitFromHappening) {
  MonitorOff off;
  green::set_max_blocking(20ms, [](const green::BlockingReport&) {});
  green::Event never;
  EXPECT_THROW(never.wait(), green::LoopExit);
}

TEST(BlockingMonitor, RejectsANegativeLimit) {
  EXPECT_THROW(green::set_max_blocking(-1ms), std::invalid_argument);
}

}  // namespace

namespace {
TEST(BlockingMonitor, KeepsWatchingInAForkedChild) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Forking while the watcher thread runs can leave a sanitizer runtime's internal lock
  // held in the child (seen under ASan: the child hangs before main's code runs again).
  GTEST_SKIP() << "fork of a multi-threaded process under a sanitizer";
#endif
  MonitorOff off;
  Reports reports;
  green::set_max_blocking(40ms, reports.handler());
  green::get_hub();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: one thread, its hub alone in the registry, a new watcher.
    int failures = 0;
    if (green::all_hub_stats().size() != 1) failures |= 1;
    green::spawn(green::SpawnOptions{.name = "child-cruncher"}, [] { green_test_spin_for(0.3); }).join();
    green::set_max_blocking(0ms);  // joins the child's own watcher: every report is in
    const auto list = reports.take("child-cruncher");
    bool seen = false;
    for (const auto& r : list) seen = seen || r.greenlet_name == "child-cruncher";

    if (!seen) failures |= 2;
    ::_exit(failures);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
}  // namespace
