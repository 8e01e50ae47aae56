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

TEST(Condition, WaitForSeesTheChangeMadeUnderTheLock) {
  green::Condition cond;
  bool ready = false;
  auto consumer = green::spawn([&] {
    std::unique_lock guard(cond);
    return cond.wait_for([&] { return ready; }, 5);
  });
  settle();
  {
    std::lock_guard guard(cond);
    ready = true;
    cond.notify();
  }
  EXPECT_TRUE(consumer.get());
}

TEST(Condition, WaitWithoutTheLockThrows) {
  green::Condition cond;
  try {
    cond.wait(0.01);
    FAIL() << "wait without the lock did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("not held"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cond.notify(), std::logic_error);
  EXPECT_THROW(cond.notify_all(), std::logic_error);

  green::RLock rlock;
  green::Condition over_rlock(rlock);
  rlock.acquire();
  // Held by the main greenlet, not by this one.
  EXPECT_THROW(green::spawn([&] { over_rlock.wait(0.01); }).get(), std::logic_error);
  rlock.release();

  green::Lock lock;
  green::Condition over_lock(lock);
  EXPECT_THROW(over_lock.wait(), std::logic_error);
}

TEST(Condition, NegativeTimeoutThrowsAndKeepsTheLock) {
  green::Condition cond;
  std::lock_guard guard(cond);
  EXPECT_THROW(cond.wait(-1), std::invalid_argument);
}

TEST(Condition, NotifyWakesNWaitersInArrivalOrder) {
  green::Lock lock;
  green::Condition cond(lock);
  std::vector<int> woken;
  std::vector<green::GreenletRef> waiters;
  for (int i = 0; i < 6; ++i)
    waiters.push_back(green::spawn([&, i] {
      std::lock_guard guard(cond);
      if (cond.wait(5)) woken.push_back(i);
    }));
  settle();
  {
    std::lock_guard guard(cond);
    cond.notify(2);
  }
  settle();
  EXPECT_EQ(woken, (std::vector<int>{0, 1}));
  {
    std::lock_guard guard(cond);
    cond.notify(3);
  }
  settle();
  EXPECT_EQ(woken, (std::vector<int>{0, 1, 2, 3, 4}));
  {
    std::lock_guard guard(cond);
    cond.notify_all();
  }
  green::joinall(waiters);
  EXPECT_EQ(woken, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_FALSE(lock.locked());
}

TEST(Condition, TimedOutWaiterReacquiresTheLockBeforeReturning) {
  green::Lock lock;
  green::Condition cond(lock);
  bool holder_released = false;
  green::Event waiting;
  auto waiter = green::spawn([&] {
    std::unique_lock guard(cond);
    waiting.set();
    const bool notified = cond.wait(0.01);
    // The holder took the lock while we waited and kept it well past our timeout.
    EXPECT_TRUE(holder_released);
    EXPECT_TRUE(lock.locked());
    return notified;
  });
  auto holder = green::spawn([&] {
    waiting.wait();
    std::lock_guard guard(lock);  // free again: the waiter released it in wait()
    green::sleep(0.1);
    holder_released = true;
  });
  EXPECT_FALSE(waiter.get());
  holder.get();
  EXPECT_FALSE(lock.locked());
}

TEST(Condition, EnclosingTimeoutReacquiresTheLockBeforeThrowing) {
  green::RLock rlock;
  green::Condition cond(rlock);
  auto waiter = green::spawn([&] {
    std::lock_guard a(rlock);
    std::lock_guard b(rlock);
    try {
      green::Timeout timeout(0.01);
      cond.wait();
    } catch (const green::TimeoutError&) {
      EXPECT_TRUE(rlock.is_owned());
      EXPECT_EQ(rlock.count(), 2u);  // recursion restored
      throw;
    }
  });
  EXPECT_THROW(waiter.get(), green::TimeoutError);
  EXPECT_FALSE(rlock.locked());
}

TEST(Condition, KilledWaiterReacquiresSoItsGuardUnlocksCleanly) {
  green::Lock lock;
  green::Condition cond(lock);
  auto waiter = green::spawn([&] {
    std::unique_lock guard(cond);
    cond.wait();
  });
  settle();
  lock.acquire();  // make the re-acquire wait for us
  waiter.kill(false);
  settle();
  EXPECT_FALSE(waiter.dead());  // blocked re-acquiring
  lock.release();
  EXPECT_TRUE(waiter.join(5));
  EXPECT_FALSE(lock.locked());  // its unique_lock released what it re-acquired
}

TEST(Condition, KilledNotifiedWaiterPassesTheNotificationOn) {
  green::Condition cond;
  auto first = green::spawn([&] {
    std::lock_guard guard(cond);
    cond.wait();
  });
  auto second = green::spawn([&] {
    std::lock_guard guard(cond);
    return cond.wait(5);
  });
  settle();
  {
    std::lock_guard guard(cond);
    cond.notify(1);     // to `first`...
    first.kill(false);  // ...killed before it returned
  }
  EXPECT_TRUE(second.get());
  EXPECT_TRUE(first.join(5));
}

TEST(Condition, RLockRecursionIsRestoredAfterWait) {
  green::Condition cond;  // its own RLock
  bool flag = false;
  auto waiter = green::spawn([&] {
    std::lock_guard a(cond);
    std::lock_guard b(cond);
    cond.wait_for([&] { return flag; });
    return true;
  });
  settle();
  {
    std::lock_guard guard(cond);  // free: the waiter released both levels
    flag = true;
    cond.notify_all();
  }
  EXPECT_TRUE(waiter.get());
}

TEST(Condition, WaitForTimesOutWithThePredicateFalse) {
  green::Condition cond;
  std::lock_guard guard(cond);
  EXPECT_FALSE(cond.wait_for([] { return false; }, 0.01));
  EXPECT_TRUE(cond.wait_for([] { return true; }, 0));
}

TEST(Condition, NotifyFromAnotherThreadWakesTheWaiter) {
  green::Lock lock;
  green::Condition cond(lock);
  bool flag = false;
  auto waiter = green::spawn([&] {
    std::lock_guard guard(cond);
    return cond.wait_for([&] { return flag; }, 10);
  });
  settle();
  std::thread other([&] {
    std::lock_guard guard(cond);  // a green Lock, on this thread's own hub
    flag = true;
    cond.notify();
  });
  EXPECT_TRUE(waiter.get());
  other.join();
  EXPECT_FALSE(lock.locked());
}

TEST(Condition, LoopExitStillLeavesTheLockHeld) {
  // Nothing could ever notify: the wait ends with LoopExit, and the guard's unlock stays valid.
  green::Lock lock;
  green::Condition cond(lock);
  std::unique_lock guard(cond);
  EXPECT_THROW(cond.wait(), green::LoopExit);
  EXPECT_TRUE(lock.locked());
}

}  // namespace
