#include <gtest/gtest.h>
#include <green/green.hpp>

#include <atomic>
#include <latch>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(Greenlet, SpawnRunsOnTheNextLoopIterationAndGetReturnsTheResult) {
  bool ran = false;
  auto g = green::spawn([&](int a, std::string b) {
    ran = true;
    return b + std::to_string(a);
  }, 7, std::string("x"));
  EXPECT_FALSE(ran);  // not yet: spawn only schedules
  EXPECT_FALSE(g.ready());
  EXPECT_EQ(g.get(), "x7");
  EXPECT_TRUE(ran);
  EXPECT_TRUE(g.ready());
  EXPECT_TRUE(g.dead());
  EXPECT_TRUE(g.successful());
  EXPECT_EQ(g.exception(), nullptr);
}

TEST(Greenlet, VoidGreenlet) {
  int n = 0;
  auto g = green::spawn([&] { n = 3; });
  g.get();
  EXPECT_EQ(n, 3);
}

TEST(Greenlet, ExceptionIsKeptForGetWithItsType) {
  auto g = green::spawn([]() -> int { throw CustomError("bad thing"); });
  EXPECT_TRUE(g.join());
  EXPECT_FALSE(g.successful());
  EXPECT_NE(g.exception(), nullptr);
  EXPECT_THROW(g.get(), CustomError);
  EXPECT_THROW(g.get(), CustomError);  // every time
}

TEST(Greenlet, UnhandledExceptionIsPrintedOnceWithNameAndWhat) {
  testing::internal::CaptureStderr();
  auto g = green::spawn(green::SpawnOptions{.name = "worker-7"}, [] { throw CustomError("disk on fire"); });
  green::sleep(0.001);  // nobody joins: it dies unobserved
  ASSERT_TRUE(g.dead());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("worker-7"), std::string::npos) << err;
  EXPECT_NE(err.find("disk on fire"), std::string::npos) << err;
  EXPECT_EQ(err.find("disk on fire"), err.rfind("disk on fire")) << "printed more than once: " << err;
}

TEST(Greenlet, ObservedExceptionIsNotPrinted) {
  testing::internal::CaptureStderr();
  auto g = green::spawn([] { throw CustomError("seen by joiner"); });
  g.join();
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find("seen by joiner"), std::string::npos) << err;
}

TEST(Greenlet, NamesAndIds) {
  auto a = green::spawn([] {});
  auto b = green::spawn(green::SpawnOptions{.name = "fetcher"}, [] {});
  EXPECT_NE(a.id(), b.id());
  EXPECT_EQ(a.name(), "Greenlet-" + std::to_string(a.id()));
  EXPECT_EQ(b.name(), "fetcher");
  green::joinall({a, b});
}

TEST(Greenlet, GetcurrentInsideAndOutside) {
  green::GreenletRef main = green::getcurrent();
  EXPECT_EQ(main.name(), "MainGreenlet");
  green::GreenletRef inner;
  auto g = green::spawn([&] { inner = green::getcurrent(); });
  g.join();
  EXPECT_TRUE(inner == green::GreenletRef(g));
  EXPECT_TRUE(green::getcurrent() == main);
}

TEST(Greenlet, JoinWithTimeout) {
  auto g = green::spawn([] { green::sleep(10); });
  EXPECT_FALSE(g.join(0.01));
  EXPECT_FALSE(g.dead());
  EXPECT_THROW(g.get(0.01), green::TimeoutError);
  g.kill();
  EXPECT_TRUE(g.dead());
}

TEST(Greenlet, JoiningYourselfThrows) {
  auto g = green::spawn([] {
    try {
      green::getcurrent().join();
    } catch (const std::logic_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  });
  EXPECT_NE(g.get().find("cannot join itself"), std::string::npos) << g.get();
}

TEST(Greenlet, KillBeforeStartNeverRuns) {
  bool ran = false;
  auto g = green::spawn([&] { ran = true; });
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_FALSE(g.successful());
  green::sleep(0);
  green::sleep(0);
  EXPECT_FALSE(ran);
  EXPECT_THROW(g.get(), green::GreenletExit);
}

TEST(Greenlet, KillAfterFinishIsANoOp) {
  auto g = green::spawn([] { return 5; });
  EXPECT_EQ(g.get(), 5);
  g.kill();
  EXPECT_TRUE(g.successful());
  EXPECT_EQ(g.get(), 5);
}

TEST(Greenlet, KillBlockedInSleepRunsDestructors) {
  struct Guard {
    bool* flag;
    ~Guard() { *flag = true; }
  };
  bool destroyed = false;
  bool finished_sleep = false;
  green::Event started;
  auto g = green::spawn([&] {
    Guard guard{&destroyed};
    started.set();
    green::sleep(100);
    finished_sleep = true;
  });
  started.wait();
  EXPECT_FALSE(destroyed);
  g.kill();  // blocks until dead
  EXPECT_TRUE(g.dead());
  EXPECT_TRUE(destroyed);
  EXPECT_FALSE(finished_sleep);
  EXPECT_THROW(g.get(), green::GreenletExit);
}

TEST(Greenlet, KillNonBlockingThenJoin) {
  auto g = green::spawn([] { green::sleep(100); });
  green::sleep(0);
  g.kill(false);
  EXPECT_FALSE(g.dead());  // delivered when the hub runs it
  EXPECT_TRUE(g.join(5));
}

TEST(Greenlet, KillingYourselfThrowsGreenletExit) {
  bool after = false;
  auto g = green::spawn([&] {
    green::getcurrent().kill();
    after = true;
  });
  g.join();
  EXPECT_FALSE(after);
  EXPECT_THROW(g.get(), green::GreenletExit);
}

TEST(Greenlet, GreenletExitCanBeCaughtForCleanup) {
  std::string log;
  green::Event started;
  auto g = green::spawn([&] {
    try {
      started.set();
      green::sleep(100);
    } catch (const green::GreenletExit&) {
      log = "cleaned up";
      throw;
    }
  });
  started.wait();
  g.kill();
  EXPECT_EQ(log, "cleaned up");
}

TEST(Greenlet, GreenletExitIsNotCaughtAsStdException) {
  bool swallowed = false;
  green::Event started;
  auto g = green::spawn([&] {
    try {
      started.set();
      green::sleep(100);
    } catch (const std::exception&) {
      swallowed = true;
    }
  });
  started.wait();
  g.kill();
  EXPECT_FALSE(swallowed);
  EXPECT_TRUE(g.dead());
}

TEST(Greenlet, SpawnLaterStartsAfterTheDelay) {
  auto start = std::chrono::steady_clock::now();
  auto g = green::spawn_later(0.05, [&] { return std::chrono::steady_clock::now() - start; });
  EXPECT_GE(g.get(), std::chrono::milliseconds(45));
}

TEST(Greenlet, SpawnLaterCancelledByKill) {
  bool ran = false;
  auto g = green::spawn_later(0.02, [&] { ran = true; });
  g.kill();
  EXPECT_TRUE(g.dead());
  green::sleep(0.05);
  EXPECT_FALSE(ran);
}

TEST(Greenlet, SpawnLaterRejectsNegativeDelay) {
  try {
    green::spawn_later(-1, [] {});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("seconds"), std::string::npos) << e.what();
  }
}

TEST(Greenlet, SleepRejectsNegativeOrNaN) {
  EXPECT_THROW(green::sleep(-0.5), std::invalid_argument);
  EXPECT_THROW(green::sleep(std::nan("")), std::invalid_argument);
}

TEST(Greenlet, LinkCallbacksRunOnDeathAndUnlinkRemoves) {
  std::vector<std::string> calls;
  auto g = green::spawn([] { green::sleep(0.001); });
  g.link([&](green::GreenletRef r) { calls.push_back("a:" + std::to_string(r.successful())); });
  auto id = g.link([&](green::GreenletRef) { calls.push_back("b"); });
  g.unlink(id);
  g.join();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], "a:1");
  g.link([&](green::GreenletRef) { calls.push_back("late"); });  // already dead: runs at once
  EXPECT_EQ(calls.back(), "late");
}

TEST(Greenlet, SeedTenRacersForThreeItems) {
  // Ten greenlets race for three items with random sleeps: exactly three win.
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> delay(0.0, 0.01);
  int items = 3;
  std::vector<int> winners;
  std::vector<green::GreenletRef> racers;
  for (int i = 0; i < 10; ++i) {
    double d = delay(rng);
    racers.push_back(green::spawn([&, i, d] {
      green::sleep(d);
      if (items > 0) {
        --items;
        winners.push_back(i);
      }
    }));
  }
  green::joinall(racers);
  EXPECT_EQ(winners.size(), 3u);
  EXPECT_EQ(items, 0);
}

TEST(Greenlet, SleepZeroYieldsToEveryReadyGreenlet) {
  std::vector<int> order;
  std::vector<green::GreenletRef> gs;
  for (int i = 0; i < 5; ++i) gs.push_back(green::spawn([&, i] { order.push_back(i); }));
  green::sleep(0);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  // Two yielding greenlets alternate.
  std::string trace;
  auto a = green::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      trace += 'a';
      green::sleep(0);
    }
  });
  auto b = green::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      trace += 'b';
      green::sleep(0);
    }
  });
  green::joinall({a, b});
  EXPECT_EQ(trace, "ababab");
}

TEST(Greenlet, HundredThousandSpawnedAndJoined) {
  constexpr int kCount = 100000;
  long sum = 0;
  std::vector<green::GreenletRef> gs;
  gs.reserve(kCount);
  for (int i = 0; i < kCount; ++i) gs.push_back(green::spawn([&sum, i] { sum += i; }));
  auto done = green::joinall(gs);
  EXPECT_EQ(done.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(sum, static_cast<long>(kCount) * (kCount - 1) / 2);
  EXPECT_EQ(green::get_hub().live_count(), 0u);
}

int spawn_tree(int depth) {
  if (depth == 0) return 1;
  auto left = green::spawn(spawn_tree, depth - 1);
  auto right = green::spawn(spawn_tree, depth - 1);
  return left.get() + right.get();
}

TEST(Greenlet, GreenletsSpawningGreenletsFiveLevelsDeep) {
  auto root = green::spawn(spawn_tree, 5);
  EXPECT_EQ(root.get(), 32);
}

TEST(Greenlet, JoinallWithTimeoutReturnsTheFinishedOnes) {
  auto fast = green::spawn([] { return 1; });
  auto slow = green::spawn([] { green::sleep(10); });
  auto done = green::joinall({fast, slow}, 0.05);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0] == green::GreenletRef(fast));
  green::killall({slow});
  EXPECT_TRUE(slow.dead());
}

TEST(Greenlet, JoinallRaiseErrorRethrowsTheFirstFailure) {
  auto ok = green::spawn([] { green::sleep(10); });
  auto bad = green::spawn([] {
    green::sleep(0.001);
    throw CustomError("first failure");
  });
  EXPECT_THROW(green::joinall({ok, bad}, std::nullopt, true), CustomError);
  EXPECT_FALSE(ok.dead());  // raised as soon as `bad` died, not after `ok`
  ok.kill();
}

TEST(Greenlet, KillallKillsEveryone) {
  std::vector<green::GreenletRef> gs;
  for (int i = 0; i < 50; ++i) gs.push_back(green::spawn([] { green::sleep(100); }));
  green::sleep(0);
  green::killall(gs);
  for (auto& g : gs) EXPECT_TRUE(g.dead());
}

TEST(Greenlet, IwaitYieldsInCompletionOrder) {
  auto slow = green::spawn([] {
    green::sleep(0.03);
    return 3;
  });
  auto fast = green::spawn([] {
    green::sleep(0.001);
    return 1;
  });
  auto mid = green::spawn([] {
    green::sleep(0.015);
    return 2;
  });
  std::vector<int> order;
  for (const auto& g : green::iwait(std::vector<green::Greenlet<int>>{slow, fast, mid})) order.push_back(g.get());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(Greenlet, IwaitOverEventsAndResultsWithTimeout) {
  green::Event e1, e2;
  green::AsyncResult<int> r;
  auto setter = green::spawn([&] {
    e2.set();
    r.set(9);
  });
  std::vector<green::Linkable*> seen;
  for (green::Linkable* obj : green::iwait(std::vector<green::Linkable*>{&e1, &e2, &r.linkable()}, 0.05))
    seen.push_back(obj);
  EXPECT_EQ(seen, (std::vector<green::Linkable*>{&e2, &r.linkable()}));  // e1 never set: timed out
  setter.get();
}

TEST(Hub, OneHubPerThreadOnFourThreadsAtOnce) {
  green::Hub* const mine = &green::get_hub();  // alive throughout: no other hub can share its address
  std::atomic<int> ok{0};
  std::latch all_ran(4);
  std::vector<std::thread> threads;
  std::vector<green::Hub*> hubs(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      hubs[t] = &green::get_hub();
      std::vector<green::GreenletRef> gs;
      int sum = 0;
      for (int i = 0; i < 1000; ++i) gs.push_back(green::spawn([&sum, i] {
        green::sleep(0.001);
        sum += i;
      }));
      green::joinall(gs);
      if (sum == 999 * 1000 / 2) ++ok;
      all_ran.arrive_and_wait();  // four hubs alive at once: their addresses must differ
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j) EXPECT_NE(hubs[i], hubs[j]);
  for (green::Hub* hub : hubs) EXPECT_NE(hub, mine);
}

TEST(Hub, JoinAGreenletOfAnotherHub) {
  green::AsyncResult<green::GreenletRef> remote;
  green::Event release;
  std::thread other([&] {
    auto g = green::spawn([&] {
      release.wait();
      return 42;
    });
    remote.set(g);
    g.join();
  });
  green::GreenletRef g = remote.get();
  release.set();  // wakes a greenlet of the other hub from here
  EXPECT_TRUE(g.join(5));
  EXPECT_TRUE(g.successful());
  other.join();
}

TEST(Hub, LoopExitNamesWhatWasWaitedOn) {
  green::Event never;
  try {
    never.wait();
    FAIL() << "expected LoopExit";
  } catch (const green::LoopExit& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("block forever"), std::string::npos) << what;
    EXPECT_NE(what.find("Event.wait"), std::string::npos) << what;
  }
}

TEST(Hub, LoopExitListsBlockedGreenlets) {
  green::Event never;
  auto g = green::spawn(green::SpawnOptions{.name = "stuck-one"}, [&] { never.wait(); });
  try {
    g.join();
    FAIL() << "expected LoopExit";
  } catch (const green::LoopExit& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("Greenlet.join"), std::string::npos) << what;
    EXPECT_NE(what.find("stuck-one"), std::string::npos) << what;
  }
  g.kill();
}

TEST(Hub, BlockingInsideTheHubThrows) {
  // A RawGreenlet cannot block on the hub either: it is not a Greenlet.
  std::string message;
  green::RawGreenlet raw([&] {
    try {
      green::sleep(0.01);
    } catch (const std::logic_error& e) {
      message = e.what();
    }
  });
  raw.switch_to();
  EXPECT_NE(message.find("RawGreenlet"), std::string::npos) << message;
}

}  // namespace
