#include <gtest/gtest.h>
#include <green/green.hpp>

#include <algorithm>
#include <list>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(Pool, ZeroSizeIsRejected) {
  EXPECT_THROW(green::Pool(0), std::invalid_argument);
}

TEST(Pool, SpawnWaitsForAFreeSlot) {
  green::Pool pool(2);
  green::Event release;
  auto a = pool.spawn([&] { release.wait(); });
  auto b = pool.spawn([&] { release.wait(); });
  EXPECT_TRUE(pool.full());
  EXPECT_EQ(pool.free_count(), 0u);
  EXPECT_EQ(pool.count(), 2u);
  bool third_started = false;
  auto spawner = green::spawn([&] { pool.spawn([&] { third_started = true; }).join(); });
  green::sleep(0.01);
  EXPECT_FALSE(spawner.dead());  // still waiting for a slot
  EXPECT_FALSE(third_started);
  release.set();
  spawner.get(5.0);
  EXPECT_TRUE(third_started);
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(pool.free_count(), 2u);
  EXPECT_EQ(pool.count(), 0u);
}

TEST(Pool, SlotsAreHandedOutInFifoOrder) {
  green::Pool pool(1);
  green::Event release;
  pool.spawn([&] { release.wait(); });
  std::vector<int> order;
  std::vector<green::GreenletRef> spawners;
  for (int i = 0; i < 5; ++i)
    spawners.push_back(green::spawn([&, i] { pool.spawn([&, i] { order.push_back(i); }); }));
  green::sleep(0.01);  // all five wait, in order
  // A late arrival that finds the pool momentarily free must not jump the queue.
  release.set();
  auto late = green::spawn([&] { pool.spawn([&] { order.push_back(99); }); });
  green::joinall(spawners, 5.0);
  late.get(5.0);
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 99}));
}

TEST(Pool, AKilledSpawnerTakesNoSlot) {
  green::Pool pool(1);
  green::Event release;
  pool.spawn([&] { release.wait(); });
  bool killed_ran = false, next_ran = false;
  auto killed = green::spawn([&] { pool.spawn([&] { killed_ran = true; }); });
  auto next = green::spawn([&] { pool.spawn([&] { next_ran = true; }).join(); });
  green::sleep(0.01);
  killed.kill();
  EXPECT_TRUE(killed.dead());
  release.set();
  next.get(5.0);
  EXPECT_TRUE(next_ran);
  EXPECT_FALSE(killed_ran);
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST(Pool, ASpawnerKilledJustAfterItWasHandedASlotPassesItOn) {
  green::Pool pool(1);
  green::Event release;
  auto holder = pool.spawn([&] { release.wait(); });
  bool killed_ran = false, next_ran = false;
  auto killed = green::spawn([&] { pool.spawn([&] { killed_ran = true; }); });
  auto next = green::spawn([&] { pool.spawn([&] { next_ran = true; }).join(); });
  green::sleep(0.01);
  // The holder's death hands the slot to `killed`; its link callback, which runs after
  // that, kills `killed` before it could use the slot.
  holder.link([&](green::GreenletRef) { killed.kill(false); });
  release.set();
  next.get(5.0);
  EXPECT_TRUE(killed.dead());
  EXPECT_FALSE(killed_ran);
  EXPECT_TRUE(next_ran);
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST(Pool, ASpawnWaitHonoursAnEnclosingTimeout) {
  green::Pool pool(1);
  green::Event release;
  pool.spawn([&] { release.wait(); });
  {
    green::Timeout timeout(0.02);
    EXPECT_THROW(pool.spawn([] {}), green::TimeoutError);
  }
  release.set();
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST(Pool, AMemberKilledBeforeItStartedFreesItsSlot) {
  green::Pool pool(1);
  auto g = pool.spawn([] { return 1; });
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_EQ(pool.free_count(), 1u);
  EXPECT_EQ(pool.count(), 0u);
  EXPECT_TRUE(pool.join(0.0));
}

TEST(Pool, WaitAvailableDoesNotTakeTheSlot) {
  green::Pool pool(1);
  green::Event release;
  pool.spawn([&] { release.wait(); });
  EXPECT_EQ(pool.wait_available(0.01), 0u);
  auto releaser = green::spawn([&] { release.set(); });
  EXPECT_EQ(pool.wait_available(5.0), 1u);
  EXPECT_EQ(pool.free_count(), 1u);
  releaser.get();
}

TEST(Pool, AddAndDiscard) {
  green::Pool pool(1);
  green::Event release;
  auto outside = green::spawn([&] { release.wait(); });
  pool.add(outside);
  EXPECT_TRUE(pool.contains(outside));
  EXPECT_TRUE(pool.full());
  auto other = green::spawn([&] { release.wait(); });
  EXPECT_THROW(pool.add(other, false), green::PoolFull);
  EXPECT_THROW(pool.add(other, true, 0.01), green::PoolFull);
  pool.discard(outside);
  EXPECT_FALSE(pool.contains(outside));
  EXPECT_EQ(pool.free_count(), 1u);
  pool.add(other);
  release.set();
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(pool.free_count(), 1u);
  EXPECT_FALSE(pool.contains(other));
  outside.get();
}

TEST(Pool, MapReturnsResultsInInputOrder) {
  green::Pool pool(3);
  std::vector<int> items{5, 1, 4, 2, 3};
  // Later items finish first: order comes from the input, not completion.
  auto results = pool.map([](int x) {
    green::sleep(0.002 * x);
    return x * 10;
  }, items);
  EXPECT_EQ(results, (std::vector<int>{50, 10, 40, 20, 30}));
  EXPECT_TRUE(pool.map([](int x) { return x; }, std::vector<int>{}).empty());
}

TEST(Pool, MapOverAnRvalueRangeAndNonCopyableResults) {
  green::Pool pool(2);
  auto results = pool.map([](std::string s) { return std::make_unique<std::string>(s + "!"); },
                          std::vector<std::string>{"a", "b"});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(*results[0], "a!");
  EXPECT_EQ(*results[1], "b!");
}

TEST(Pool, ImapIsOrderedAndLazy) {
  green::Pool pool(2);
  std::vector<int> items{3, 1, 2};
  int spawned = 0;
  auto iteration = pool.imap([&](int x) {
    ++spawned;
    green::sleep(0.003 * x);
    return x;
  }, items);
  std::vector<int> seen;
  for (int x : iteration) {
    seen.push_back(x);
    EXPECT_LE(spawned, 3);
  }
  EXPECT_EQ(seen, items);
}

TEST(Pool, ImapNeverRunsMoreThanThePoolSize) {
  green::Pool pool(4);
  int running = 0, peak = 0;
  std::vector<int> items(50);
  for (int i = 0; i < 50; ++i) items[i] = i;
  long sum = 0;
  for (int x : pool.imap_unordered([&](int x) {
         peak = std::max(peak, ++running);
         green::sleep(0.0005);
         --running;
         return x;
       }, items))
    sum += x;
  EXPECT_EQ(sum, 49 * 50 / 2);
  EXPECT_EQ(peak, 4);
}

TEST(Pool, ImapUnorderedYieldsInCompletionOrder) {
  green::Pool pool(4);
  std::vector<int> items{4, 1, 3, 2};
  std::vector<int> seen;
  for (int x : pool.imap_unordered([](int x) {
         green::sleep(0.005 * x);
         return x;
       }, items))
    seen.push_back(x);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
}

TEST(Pool, ExceptionsComeOutWithTheirType) {
  green::Pool pool(2);
  EXPECT_THROW(pool.apply([] { throw CustomError("apply"); }), CustomError);
  auto result = pool.apply_async([]() -> int { throw CustomError("async"); });
  EXPECT_THROW(result.get(5.0), CustomError);
  EXPECT_THROW(pool.submit([] { throw std::out_of_range("submit"); }).get(5.0), std::out_of_range);
  EXPECT_THROW(pool.map([](int x) {
                 if (x == 2) throw CustomError("map");
                 return x;
               }, std::vector<int>{1, 2, 3}),
               CustomError);
  EXPECT_TRUE(pool.join(5.0));
}

TEST(Pool, ImapRaisesAtTheFailedItemAndGoesOn) {
  green::Pool pool(2);
  auto iteration = pool.imap([](int x) {
    if (x == 2) throw CustomError("two");
    return x;
  }, std::vector<int>{1, 2, 3});
  EXPECT_EQ(iteration.next(), 1);
  EXPECT_THROW(iteration.next(), CustomError);
  EXPECT_EQ(iteration.next(), 3);
  EXPECT_EQ(iteration.next(), std::nullopt);
}

TEST(Pool, ImapStoppedEarlyStopsFeeding) {
  green::Pool pool(1);
  int calls = 0;
  std::vector<int> items(100, 1);
  {
    auto iteration = pool.imap([&](int x) {
      ++calls;
      return x;
    }, items);
    EXPECT_EQ(iteration.next(), 1);
  }
  EXPECT_TRUE(pool.join(5.0));
  green::sleep(0.01);
  EXPECT_LT(calls, 5);
}

TEST(Pool, ImapNextTakesATimeout) {
  green::Pool pool(1);
  green::Event release;
  auto iteration = pool.imap([&](int x) {
    release.wait();
    return x;
  }, std::vector<int>{7});
  EXPECT_THROW(iteration.next(0.01), green::TimeoutError);
  release.set();
  EXPECT_EQ(iteration.next(5.0), 7);
}

TEST(Pool, ApplyAsyncNeverBlocksAndQueuesInOrder) {
  green::Pool pool(1);
  green::Event release;
  std::vector<int> order;
  auto first = pool.apply_async([&] {
    release.wait();
    order.push_back(0);
    return 0;
  });
  std::vector<green::AsyncResult<int>> results;
  for (int i = 1; i <= 4; ++i) results.push_back(pool.submit([&, i] {
    order.push_back(i);
    return i;
  }));
  EXPECT_FALSE(results[0].ready());
  release.set();
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(results[i - 1].get(5.0), i);
  EXPECT_EQ(first.get(), 0);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(pool.join(5.0));
}

TEST(Pool, KillCancelsQueuedAndKillsRunningTasks) {
  green::Pool pool(1);
  green::Event never;
  auto running = pool.apply_async([&] { never.wait(); });
  auto queued = pool.apply_async([] { return 1; });
  green::sleep(0.001);
  pool.kill();
  EXPECT_THROW(running.get(5.0), green::CancelledError);
  EXPECT_THROW(queued.get(5.0), green::CancelledError);
  EXPECT_EQ(pool.count(), 0u);
  EXPECT_TRUE(pool.join(0.0));
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST(Pool, ATaskKilledBeforeItStartedReportsCancelledError) {
  green::Pool pool(2);
  auto started = pool.submit([] { return 1; });
  auto queued = pool.submit([] { return 2; });
  auto more = pool.submit([] { return 3; });  // waits for a slot
  pool.kill();  // nothing ran yet
  EXPECT_THROW(started.get(5.0), green::CancelledError);
  EXPECT_THROW(queued.get(5.0), green::CancelledError);
  EXPECT_THROW(more.get(5.0), green::CancelledError);
  EXPECT_EQ(pool.free_count(), 2u);
}

TEST(Pool, AMemberKillingItsPoolKillsTheOthersThenItself) {
  green::Pool pool(3);
  green::Event never;
  auto a = pool.spawn([&] { never.wait(); });
  auto b = pool.spawn([&] { never.wait(); });
  auto killer = pool.spawn([&] {
    green::sleep(0.001);
    pool.kill();
  });
  killer.join(5.0);
  EXPECT_THROW(killer.get(), green::GreenletExit);
  EXPECT_TRUE(a.dead());
  EXPECT_TRUE(b.dead());
  EXPECT_TRUE(pool.join(5.0));
  EXPECT_EQ(pool.free_count(), 3u);
}

TEST(Pool, AKilledImapTaskReportsCancelledError) {
  green::Pool pool(2);
  green::Event never;
  auto iteration = pool.imap([&](int x) {
    if (x == 1) never.wait();
    return x;
  }, std::vector<int>{1, 2});
  green::sleep(0.005);
  pool.kill();
  EXPECT_THROW(iteration.next(5.0), green::CancelledError);
  EXPECT_EQ(iteration.next(5.0), 2);
}

TEST(Pool, ApplyFromAMemberOfAFullPoolRunsDirectly) {
  green::Pool pool(1);
  auto outer = pool.spawn([&] { return pool.apply([] { return 5; }) + 1; });
  EXPECT_EQ(outer.get(5.0), 6);
}

TEST(Pool, DestroyingAPoolCancelsQueuedCalls) {
  green::AsyncResult<int> queued;
  green::Event never;
  {
    green::Pool pool(1);
    pool.spawn([&] { never.wait(); });
    queued = pool.submit([] { return 1; });
  }
  EXPECT_THROW(queued.get(0.0), green::CancelledError);
  never.set();
  green::sleep(0.001);
}

TEST(Pool, PoolIsBoundToItsThread) {
  green::Pool pool(1);
  std::thread([&] { EXPECT_THROW(pool.spawn([] {}), std::logic_error); }).join();
}

TEST(Group, TracksMembersUntilTheyDie) {
  green::Group group;
  green::Event release;
  auto a = group.spawn([&] { release.wait(); });
  auto b = group.spawn([&] { return 2; });
  EXPECT_EQ(group.count(), 2u);
  EXPECT_TRUE(group.contains(a));
  EXPECT_FALSE(group.join(0.01));
  EXPECT_EQ(group.count(), 1u);  // b is done
  release.set();
  EXPECT_TRUE(group.join(5.0));
  EXPECT_EQ(b.get(), 2);
  EXPECT_EQ(group.count(), 0u);
}

TEST(Group, KillKillsEveryMember) {
  green::Group group;
  green::Event never;
  std::vector<green::GreenletRef> members;
  for (int i = 0; i < 10; ++i) members.push_back(group.spawn([&] { never.wait(); }));
  green::sleep(0);
  group.kill();
  for (auto& g : members) {
    EXPECT_TRUE(g.dead());
    EXPECT_THROW(g.get(), green::GreenletExit);
  }
  EXPECT_EQ(group.count(), 0u);
}

TEST(Group, KilloneAndAddedGreenlets) {
  green::Group group;
  green::Event never;
  auto g = green::spawn([&] { never.wait(); });
  group.add(g);
  EXPECT_TRUE(group.contains(g));
  group.killone(g);
  EXPECT_TRUE(g.dead());
  EXPECT_EQ(group.count(), 0u);
  green::GreenletRef theirs;
  std::thread([&] {
    theirs = green::spawn([] {});
    theirs.join();
  }).join();
  EXPECT_THROW(group.add(theirs), std::invalid_argument);  // a greenlet of another hub
}

TEST(Group, MapAndApplyWorkUnbounded) {
  green::Group group;
  EXPECT_EQ(group.apply([](int a) { return a + 1; }, 1), 2);
  auto squares = group.map([](int x) { return x * x; }, std::list<int>{1, 2, 3});
  EXPECT_EQ(squares, (std::vector<int>{1, 4, 9}));
}

TEST(Group, DestroyingAGroupLeavesMembersRunning) {
  green::Event release;
  green::Greenlet<int> g;
  {
    green::Group group;
    g = group.spawn([&] {
      release.wait();
      return 3;
    });
    auto added = green::spawn([] {});
    group.add(added);
  }
  release.set();
  EXPECT_EQ(g.get(5.0), 3);
}

TEST(Group, UnjoinedExceptionsAreStillReported) {
  testing::internal::CaptureStderr();
  green::Group group;
  group.spawn(green::SpawnOptions{.name = "pool-task"}, [] { throw CustomError("lost in a pool"); });
  EXPECT_TRUE(group.join(5.0));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("lost in a pool"), std::string::npos) << err;
}

}  // namespace

namespace {

// Spawners and tasks killed and timed out at random: afterwards no slot leaked, the pool
// never ran more than its size, and every queued call got a result.
TEST(PoolStress, RandomKillsAndTimeoutsLeakNoSlot) {
  constexpr std::size_t kSize = 8;
  green::Pool pool(kSize);
  std::mt19937 rng(12345);
  int running = 0, peak = 0, ran = 0;
  auto task = [&](int ticks) {
    peak = std::max(peak, ++running);
    struct Done {
      int& running;
      ~Done() { --running; }
    } done{running};
    ++ran;
    for (int i = 0; i < ticks; ++i) green::sleep(0);
    return ticks;
  };
  std::vector<green::GreenletRef> spawners;
  std::vector<green::AsyncResult<int>> results;
  for (int i = 0; i < 2000; ++i) {
    const int kind = static_cast<int>(rng() % 4);
    const int ticks = static_cast<int>(rng() % 5);
    if (kind == 0) {
      results.push_back(pool.submit(task, ticks));
    } else {
      spawners.push_back(green::spawn([&pool, &task, kind, ticks] {
        if (kind == 1) {
          green::Timeout timeout(0.0005);
          pool.spawn(task, ticks).join();
        } else {
          pool.spawn(task, ticks).join();
        }
      }));
    }
    if (rng() % 8 == 0) green::sleep(0);
    if (!spawners.empty() && rng() % 5 == 0) spawners[rng() % spawners.size()].kill(false);
    if (rng() % 50 == 0) {
      auto members = pool.greenlets();
      if (!members.empty()) members[rng() % members.size()].kill(false);
    }
  }
  for (auto& s : spawners) ASSERT_TRUE(s.join(60.0));
  ASSERT_TRUE(pool.join(60.0));
  for (auto& r : results) {
    ASSERT_TRUE(r.ready());
    if (!r.successful()) {
      EXPECT_THROW(r.get(), green::CancelledError);
    }
  }
  EXPECT_EQ(pool.free_count(), kSize);
  EXPECT_EQ(pool.count(), 0u);
  EXPECT_EQ(running, 0);
  EXPECT_LE(peak, static_cast<int>(kSize));
  EXPECT_GT(ran, 100);
}

}  // namespace
