#include <green/green.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

TEST(SpawnOn, RunsOnTheOtherHubsThreadAndReturnsTheValue) {
  green::HubThread worker;
  auto result = green::spawn_on(worker.hub(), [] { return std::this_thread::get_id(); });
  EXPECT_EQ(result.get(5.0), worker.thread_id());
  EXPECT_NE(worker.thread_id(), std::this_thread::get_id());
}

TEST(SpawnOn, ExceptionsComeBackWithTheirType) {
  green::HubThread worker;
  auto result = worker.spawn([]() -> int { throw std::out_of_range("remote"); });
  EXPECT_THROW(result.get(5.0), std::out_of_range);
}

TEST(SpawnOn, TheCallersHubKeepsRunningWhileItWaits) {
  green::HubThread worker;
  green::Event local_ran;
  // The remote task finishes only after a greenlet on the caller's hub has run: if waiting
  // for the result blocked the caller's OS thread, this would time out.
  auto result = worker.spawn([&local_ran] { return local_ran.wait(5.0); });
  auto local = green::spawn([&local_ran] { local_ran.set(); });
  EXPECT_TRUE(result.get(10.0));
  local.join();
}

TEST(SpawnOn, ManyGreenletsOnTwoHubsHandWorkToEachOther) {
  green::HubThread a("hub-a"), b("hub-b");
  std::atomic<int> sum{0};
  auto round = [&](green::Hub& there) {
    std::vector<green::AsyncResult<int>> results;
    for (int i = 0; i < 100; ++i)
      results.push_back(green::spawn_on(there, [i] {
        green::sleep(0);
        return i;
      }));
    int total = 0;
    for (auto& r : results) total += r.get(10.0);
    sum += total;
  };
  auto from_a = a.spawn([&] { round(b.hub()); });
  auto from_b = b.spawn([&] { round(a.hub()); });
  from_a.get(20.0);
  from_b.get(20.0);
  EXPECT_EQ(sum.load(), 2 * (99 * 100 / 2));
}

TEST(HubThread, StopLetsRunningGreenletsFinish) {
  std::atomic<bool> finished{false};
  green::AsyncResult<void> started;
  {
    green::HubThread worker;
    worker.spawn([&] {
      started.set();
      green::sleep(0.05);
      finished = true;
    });
    started.wait(5.0);
  }  // the destructor stops the thread
  EXPECT_TRUE(finished.load());
}

TEST(HubThread, SpawnAfterStopThrows) {
  green::HubThread worker;
  worker.stop();
  worker.stop();  // idempotent
  EXPECT_THROW(worker.spawn([] {}), std::logic_error);
}

TEST(RunInThreads, EachThreadHasItsOwnHubAndResultsKeepTheirOrder) {
  green::Hub* const mine = &green::get_hub();  // alive throughout: no other hub can share its address
  std::mutex mutex;
  std::set<green::Hub*> hubs;
  std::atomic<int> arrived{0};
  green::Event all_arrived;  // keeps all four hubs alive at once, so addresses are distinct
  auto ids = green::run_in_threads(4, [&](int i) {
    {
      std::lock_guard guard(mutex);
      hubs.insert(&green::get_hub());
    }
    if (++arrived == 4) all_arrived.set();
    EXPECT_TRUE(all_arrived.wait(10.0));  // cooperative, woken from another thread
    return i * 10;
  });
  EXPECT_EQ(ids, (std::vector<int>{0, 10, 20, 30}));
  EXPECT_EQ(hubs.size(), 4u);
  EXPECT_EQ(hubs.count(mine), 0u);
}

TEST(RunInThreads, RethrowsTheFirstExceptionAfterAllFinished) {
  std::atomic<int> finished{0};
  EXPECT_THROW(green::run_in_threads(3,
                                     [&](int i) {
                                       ++finished;
                                       if (i == 1) throw std::runtime_error("thread 1 failed");
                                     }),
               std::runtime_error);
  EXPECT_EQ(finished.load(), 3);
  EXPECT_THROW(green::run_in_threads(0, [](int) {}), std::invalid_argument);
}

TEST(CallThreadsafe, RunsTheCallbackOnTheHubsThread) {
  green::HubThread worker;
  green::AsyncResult<std::thread::id> ran_on;
  worker.hub().call_threadsafe([ran_on] { ran_on.set(std::this_thread::get_id()); });
  EXPECT_EQ(ran_on.get(5.0), worker.thread_id());
  EXPECT_THROW(worker.hub().call_threadsafe({}), std::invalid_argument);
}

}  // namespace
