#include <gtest/gtest.h>
#include <green/green.hpp>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "sync/sync_test_util.hpp"

namespace {

using sync_test::settle;

// Runs `parties` greenlets through one wait each; returns their arrival indexes.
std::vector<std::size_t> run_round(green::Barrier& barrier, std::size_t parties) {
  std::vector<green::Greenlet<std::size_t>> gs;
  for (std::size_t i = 0; i < parties; ++i) gs.push_back(green::spawn([&] { return barrier.wait(5); }));
  std::vector<std::size_t> indexes;
  for (auto& g : gs) indexes.push_back(g.get());
  std::sort(indexes.begin(), indexes.end());
  return indexes;
}

TEST(Barrier, BadArgumentsThrow) {
  EXPECT_THROW(green::Barrier(0), std::invalid_argument);
  EXPECT_THROW(green::Barrier(2, {}, -1.0), std::invalid_argument);
  green::Barrier barrier(2);
  EXPECT_THROW(barrier.wait(-1), std::invalid_argument);
}

TEST(Barrier, WaitReturnsEachArrivalIndexOnce) {
  green::Barrier barrier(5);
  EXPECT_EQ(barrier.parties(), 5u);
  EXPECT_EQ(run_round(barrier, 5), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(barrier.n_waiting(), 0u);
  EXPECT_FALSE(barrier.broken());
}

TEST(Barrier, ArrivalIndexFollowsArrivalOrder) {
  green::Barrier barrier(3);
  auto a = green::spawn([&] { return barrier.wait(); });
  settle();
  auto b = green::spawn([&] { return barrier.wait(); });
  settle();
  EXPECT_EQ(barrier.n_waiting(), 2u);
  EXPECT_EQ(barrier.wait(), 2u);
  EXPECT_EQ(a.get(), 0u);
  EXPECT_EQ(b.get(), 1u);
}

TEST(Barrier, IsReusableAcrossRounds) {
  green::Barrier barrier(4);
  std::vector<int> rounds(4, 0);
  std::vector<green::GreenletRef> gs;
  for (int p = 0; p < 4; ++p)
    gs.push_back(green::spawn([&, p] {
      for (int r = 0; r < 10; ++r) {
        barrier.wait(5);
        ++rounds[p];
      }
    }));
  green::joinall(gs, 10, true);
  EXPECT_EQ(rounds, (std::vector<int>{10, 10, 10, 10}));
}

TEST(Barrier, ActionRunsOncePerRoundInTheLastArrivalBeforeOthersLeave) {
  int actions = 0;
  int left_before_action = -1;
  int left = 0;
  green::Barrier barrier(3, [&] {
    ++actions;
    left_before_action = left;
  });
  std::vector<green::Greenlet<std::size_t>> gs;
  for (int i = 0; i < 3; ++i)
    gs.push_back(green::spawn([&] {
      auto index = barrier.wait(5);
      ++left;
      return index;
    }));
  for (auto& g : gs) g.get();
  EXPECT_EQ(actions, 1);
  EXPECT_EQ(left_before_action, 0);
}

TEST(Barrier, ActionThatThrowsBreaksTheBarrier) {
  green::Barrier barrier(3, [] { throw std::runtime_error("action failed"); });
  auto a = green::spawn([&] { barrier.wait(5); });
  auto b = green::spawn([&] { barrier.wait(5); });
  settle();
  EXPECT_THROW(barrier.wait(5), std::runtime_error);  // the last arrival gets the action's error
  EXPECT_THROW(a.get(), green::BrokenBarrierError);
  EXPECT_THROW(b.get(), green::BrokenBarrierError);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(), green::BrokenBarrierError);
}

TEST(Barrier, TimeoutBreaksTheBarrierForEveryone) {
  green::Barrier barrier(3);
  auto patient = green::spawn([&] { barrier.wait(5); });
  settle();
  EXPECT_THROW(barrier.wait(0.01), green::BrokenBarrierError);
  EXPECT_THROW(patient.get(), green::BrokenBarrierError);
  EXPECT_TRUE(barrier.broken());
}

TEST(Barrier, DefaultTimeoutFromTheConstructor) {
  green::Barrier barrier(2, {}, 0.01);
  EXPECT_THROW(barrier.wait(), green::BrokenBarrierError);
  EXPECT_TRUE(barrier.broken());
}

TEST(Barrier, AbortWakesWaitersAndStaysBroken) {
  green::Barrier barrier(3);
  auto a = green::spawn([&] { barrier.wait(5); });
  settle();
  barrier.abort();
  EXPECT_THROW(a.get(), green::BrokenBarrierError);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(), green::BrokenBarrierError);
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(run_round(barrier, 3), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Barrier, ResetWakesWaitersWithBrokenBarrierErrorAndStaysUsable) {
  green::Barrier barrier(3);
  auto a = green::spawn([&] { barrier.wait(5); });
  auto b = green::spawn([&] { barrier.wait(5); });
  settle();
  EXPECT_EQ(barrier.n_waiting(), 2u);
  barrier.reset();
  EXPECT_THROW(a.get(), green::BrokenBarrierError);
  EXPECT_THROW(b.get(), green::BrokenBarrierError);
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.n_waiting(), 0u);
  EXPECT_EQ(run_round(barrier, 3), (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Barrier, KilledWaiterBreaksTheBarrier) {
  green::Barrier barrier(3);
  auto victim = green::spawn([&] { barrier.wait(5); });
  auto other = green::spawn([&] { barrier.wait(5); });
  settle();
  victim.kill();
  EXPECT_THROW(other.get(), green::BrokenBarrierError);
  EXPECT_TRUE(barrier.broken());
}

TEST(Barrier, HonoursAnEnclosingTimeout) {
  green::Barrier barrier(2);
  auto g = green::spawn([&] {
    green::Timeout timeout(0.01);
    barrier.wait();
  });
  EXPECT_THROW(g.get(), green::TimeoutError);
  EXPECT_TRUE(barrier.broken());
}

}  // namespace
