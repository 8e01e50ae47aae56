#include <gtest/gtest.h>
#include <green/green.hpp>

#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sync/sync_test_util.hpp"

namespace {

using sync_test::settle;

TEST(Semaphore, NegativeValueThrows) {
  EXPECT_THROW(green::Semaphore(-1), std::invalid_argument);
  EXPECT_THROW(green::BoundedSemaphore(-3), std::invalid_argument);
}

TEST(Semaphore, CountsPermits) {
  green::Semaphore sem(2);
  EXPECT_EQ(sem.value(), 2u);
  EXPECT_TRUE(sem.acquire());
  EXPECT_TRUE(sem.acquire(false));
  EXPECT_TRUE(sem.locked());
  EXPECT_FALSE(sem.acquire(false));
  sem.release(2);
  EXPECT_EQ(sem.value(), 2u);
  sem.release();  // an unbounded semaphore may grow
  EXPECT_EQ(sem.value(), 3u);
}

TEST(Semaphore, ZeroStartsLocked) {
  green::Semaphore sem(0);
  EXPECT_TRUE(sem.locked());
  auto waiter = green::spawn([&] { return sem.acquire(true, 5); });
  settle();
  EXPECT_FALSE(waiter.ready());
  sem.release();
  EXPECT_TRUE(waiter.get());
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, BadArgumentsThrow) {
  green::Semaphore sem(1);
  EXPECT_THROW(sem.acquire(false, 0.5), std::invalid_argument);
  EXPECT_THROW(sem.acquire(true, -0.5), std::invalid_argument);
  EXPECT_EQ(sem.value(), 1u);
}

TEST(Semaphore, WaitersAreServedInArrivalOrder) {
  green::Semaphore sem(0);
  std::vector<int> order;
  std::vector<green::GreenletRef> waiters;
  for (int i = 0; i < 10; ++i)
    waiters.push_back(green::spawn([&, i] {
      sem.acquire();
      order.push_back(i);
    }));
  settle();
  for (int i = 0; i < 10; ++i) sem.release();
  green::joinall(waiters);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, NoBargingPastWaiters) {
  green::Semaphore sem(0);
  auto waiter = green::spawn([&] { sem.acquire(); });
  settle();
  sem.release();
  EXPECT_FALSE(sem.acquire(false));  // the permit is the waiter's
  EXPECT_TRUE(waiter.join(5));
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, KilledWaiterThatWasHandedAPermitPassesItOn) {
  green::Semaphore sem(0);
  auto first = green::spawn([&] { sem.acquire(); });
  auto second = green::spawn([&] { sem.acquire(); });
  settle();
  sem.release();      // to `first`...
  first.kill(false);  // ...killed before it ran: the permit goes to `second`
  EXPECT_TRUE(second.join(5));
  EXPECT_TRUE(second.successful());
  EXPECT_EQ(sem.value(), 0u);
  sem.release();
  EXPECT_EQ(sem.value(), 1u);
}

TEST(Semaphore, PermitHandedToAKilledWaiterWithNobodyBehindIsCounted) {
  green::Semaphore sem(0);
  auto only = green::spawn([&] { sem.acquire(); });
  settle();
  sem.release();
  only.kill();
  EXPECT_EQ(sem.value(), 1u);
}

TEST(Semaphore, TimedOutWaiterTakesNothing) {
  green::Semaphore sem(0);
  auto timed = green::spawn([&] { return sem.acquire(true, 0.01); });
  auto patient = green::spawn([&] { return sem.acquire(true, 5); });
  EXPECT_FALSE(timed.get());
  sem.release();
  EXPECT_TRUE(patient.get());
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, HonoursAnEnclosingTimeout) {
  green::Semaphore sem(0);
  auto waiter = green::spawn([&] {
    green::Timeout timeout(0.01);
    sem.acquire();
  });
  EXPECT_THROW(waiter.get(), green::TimeoutError);
  sem.release();
  EXPECT_EQ(sem.value(), 1u);
}

TEST(Semaphore, ReleaseFromAnotherThreadWakesTheWaiter) {
  green::Semaphore sem(0);
  auto waiter = green::spawn([&] { return sem.acquire(true, 5); });
  settle();
  std::thread other([&] { sem.release(); });
  EXPECT_TRUE(waiter.get());
  other.join();
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, ManyReleasesFromOtherThreads) {
  constexpr int kN = 200;
  green::Semaphore sem(0);
  int acquired = 0;
  std::vector<green::GreenletRef> waiters;
  for (int i = 0; i < kN; ++i)
    waiters.push_back(green::spawn([&] {
      if (sem.acquire(true, 10)) ++acquired;
    }));
  settle();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kN / 4; ++i) sem.release();
    });
  green::joinall(waiters);
  for (auto& t : threads) t.join();
  EXPECT_EQ(acquired, kN);
  EXPECT_EQ(sem.value(), 0u);
}

TEST(Semaphore, GuardsWork) {
  green::Semaphore sem(1);
  {
    std::lock_guard guard(sem);
    EXPECT_EQ(sem.value(), 0u);
  }
  EXPECT_EQ(sem.value(), 1u);
}

TEST(BoundedSemaphore, ReleasePastTheInitialValueThrows) {
  green::BoundedSemaphore sem(2);
  try {
    sem.release();
    FAIL() << "release past the initial value did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("too many"), std::string::npos) << e.what();
  }
  EXPECT_EQ(sem.value(), 2u);
  sem.acquire();
  sem.acquire();
  EXPECT_THROW(sem.release(3), std::logic_error);
  EXPECT_EQ(sem.value(), 0u);  // all or nothing
  sem.release(2);
  EXPECT_EQ(sem.value(), 2u);
  // Through a Semaphore reference too: the bound is data, not a virtual call.
  green::Semaphore& base = sem;
  EXPECT_THROW(base.release(), std::logic_error);
}

TEST(BoundedSemaphore, ReleaseToAWaiterIsWithinTheBound) {
  green::BoundedSemaphore sem(1);
  sem.acquire();
  auto waiter = green::spawn([&] {
    sem.acquire();
    sem.release();
  });
  settle();
  sem.release();
  EXPECT_TRUE(waiter.join(5));
  EXPECT_EQ(sem.value(), 1u);
  EXPECT_THROW(sem.release(), std::logic_error);
}

}  // namespace
