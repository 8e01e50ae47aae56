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

TEST(Lock, AcquireAndRelease) {
  green::Lock lock;
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.acquire());
  EXPECT_TRUE(lock.locked());
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST(Lock, ReleasingAnUnheldLockThrows) {
  green::Lock lock;
  try {
    lock.release();
    FAIL() << "release of an unheld lock did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("not held"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, BadArgumentsThrow) {
  green::Lock lock;
  EXPECT_THROW(lock.acquire(false, 1.0), std::invalid_argument);
  EXPECT_THROW(lock.acquire(true, -1.0), std::invalid_argument);
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, ReleaseByAnotherGreenletIsAllowedLikePython) {
  green::Lock lock;
  lock.acquire();
  green::spawn([&] { lock.release(); }).get();
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, StandardGuardsWork) {
  green::Lock a, b;
  {
    std::lock_guard guard(a);
    EXPECT_TRUE(a.locked());
  }
  EXPECT_FALSE(a.locked());
  {
    std::scoped_lock both(a, b);
    EXPECT_TRUE(a.locked() && b.locked());
  }
  EXPECT_FALSE(a.locked() || b.locked());
  {
    std::unique_lock guard(a, std::defer_lock);
    EXPECT_TRUE(guard.try_lock_for(std::chrono::milliseconds(1)));
    auto other = green::spawn([&] {
      std::unique_lock mine(a, std::defer_lock);
      return mine.try_lock_for(std::chrono::milliseconds(10));
    });
    EXPECT_FALSE(other.get());
  }
  EXPECT_FALSE(a.locked());
}

TEST(Lock, TimeoutReturnsFalseAndLeavesTheLockAlone) {
  green::Lock lock;
  lock.acquire();
  auto waiter = green::spawn([&] { return lock.acquire(true, 0.01); });
  EXPECT_FALSE(waiter.get());
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_TRUE(lock.acquire(false));  // the timed-out waiter left nothing behind
  lock.release();
}

TEST(Lock, HonoursAnEnclosingTimeout) {
  green::Lock lock;
  lock.acquire();
  auto waiter = green::spawn([&] {
    green::Timeout timeout(0.01);
    lock.acquire();
  });
  EXPECT_THROW(waiter.get(), green::TimeoutError);
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, WaitersAreServedInArrivalOrder) {
  green::Lock lock;
  lock.acquire();
  std::vector<int> order;
  std::vector<green::GreenletRef> waiters;
  for (int i = 0; i < 8; ++i)
    waiters.push_back(green::spawn([&, i] {
      std::lock_guard guard(lock);
      order.push_back(i);
      green::sleep(0);  // hold it across a switch
    }));
  settle();
  lock.release();
  green::joinall(waiters);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, NoBargingPastAWaiter) {
  green::Lock lock;
  lock.acquire();
  bool waiter_got_it = false;
  auto waiter = green::spawn([&] {
    lock.acquire();
    waiter_got_it = true;
    lock.release();
  });
  settle();
  lock.release();
  // The lock went to the waiter; the releaser cannot take it back before the waiter ran.
  EXPECT_TRUE(lock.locked());
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_FALSE(waiter_got_it);
  lock.acquire();  // queues behind nobody: the waiter already owns it
  EXPECT_TRUE(waiter_got_it);
  lock.release();
  waiter.get();
}

TEST(Lock, KilledWaiterThatWasHandedTheLockPassesItOn) {
  green::Lock lock;
  lock.acquire();
  bool first_got_it = false;
  auto first = green::spawn([&] {
    lock.acquire();
    first_got_it = true;
  });
  auto second = green::spawn([&] {
    lock.acquire();
    lock.release();
  });
  settle();
  lock.release();     // hands the lock to `first`...
  first.kill(false);  // ...which is killed before it could run
  EXPECT_TRUE(second.join(5));
  EXPECT_TRUE(second.successful());
  EXPECT_TRUE(first.dead());
  EXPECT_FALSE(first_got_it);
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, KilledWaiterBeforeTheReleaseTakesNothing) {
  green::Lock lock;
  lock.acquire();
  auto first = green::spawn([&] { lock.acquire(); });
  auto second = green::spawn([&] {
    lock.acquire();
    lock.release();
  });
  settle();
  first.kill();
  lock.release();
  EXPECT_TRUE(second.join(5));
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, ReleaseFromAnotherThreadWakesTheWaiter) {
  green::Lock lock;
  lock.acquire();
  auto waiter = green::spawn([&] {
    lock.acquire();
    lock.release();
  });
  settle();
  std::thread other([&] { lock.release(); });
  EXPECT_TRUE(waiter.join(5));
  other.join();
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, MainGreenletBlocksUntilAGreenletReleases) {
  green::Lock lock;
  auto holder = green::spawn([&] {
    lock.acquire();
    green::sleep(0.01);
    lock.release();
  });
  settle();
  EXPECT_TRUE(lock.locked());
  EXPECT_TRUE(lock.acquire(true, 5));
  lock.release();
  holder.get();
}

TEST(RLock, RecursionCountAndOwner) {
  green::RLock lock;
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(lock.is_owned());
  lock.acquire();
  lock.acquire();
  EXPECT_TRUE(lock.acquire(false));
  EXPECT_EQ(lock.count(), 3u);
  EXPECT_TRUE(lock.is_owned());
  auto other = green::spawn([&] { return std::make_pair(lock.acquire(false), lock.is_owned()); });
  EXPECT_EQ(other.get(), std::make_pair(false, false));
  lock.release();
  lock.release();
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_FALSE(lock.locked());
  EXPECT_EQ(lock.count(), 0u);
}

TEST(RLock, ReleasingWhatAnotherGreenletHoldsThrows) {
  green::RLock lock;
  lock.acquire();
  auto other = green::spawn([&] { lock.release(); });
  try {
    other.get();
    FAIL() << "release by a non-owner did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("another greenlet"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(lock.is_owned());
  lock.release();
}

TEST(RLock, ReleasingAnUnheldRLockThrows) {
  green::RLock lock;
  try {
    lock.release();
    FAIL() << "release of an unheld RLock did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("not held"), std::string::npos) << e.what();
  }
}

TEST(RLock, OtherGreenletsWaitUntilFullyReleasedInFifoOrder) {
  green::RLock lock;
  std::lock_guard outer(lock);
  std::vector<int> order;
  std::vector<green::GreenletRef> waiters;
  for (int i = 0; i < 4; ++i)
    waiters.push_back(green::spawn([&, i] {
      std::lock_guard a(lock);
      std::lock_guard b(lock);
      order.push_back(i);
    }));
  {
    std::lock_guard inner(lock);
    settle();
  }
  settle();
  EXPECT_TRUE(order.empty());  // still held once
  lock.release();
  green::joinall(waiters);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  lock.acquire();  // for `outer`
}

TEST(RLock, KilledWaiterThatWasHandedTheLockPassesItOn) {
  green::RLock lock;
  lock.acquire();
  auto first = green::spawn([&] { lock.acquire(); });
  auto second = green::spawn([&] {
    std::lock_guard guard(lock);
  });
  settle();
  lock.release();
  first.kill(false);
  EXPECT_TRUE(second.join(5));
  EXPECT_TRUE(second.successful());
  EXPECT_FALSE(lock.locked());
}

TEST(RLock, TimeoutAndEnclosingTimeout) {
  green::RLock lock;
  lock.acquire();
  EXPECT_FALSE(green::spawn([&] { return lock.acquire(true, 0.01); }).get());
  auto timed = green::spawn([&] {
    green::Timeout timeout(0.01);
    lock.acquire();
  });
  EXPECT_THROW(timed.get(), green::TimeoutError);
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, AGreenletThatCaughtAKillCanStillBeHandedTheLock) {
  // The kill was delivered and handled: later hand-offs must reach the greenlet.
  green::Lock lock;
  green::Event waiting;
  auto survivor = green::spawn([&] {
    try {
      green::sleep(10);
    } catch (const green::GreenletExit&) {
    }
    waiting.set();
    return lock.acquire(true, 5);
  });
  settle();
  lock.acquire();
  survivor.kill(false);
  waiting.wait();
  settle();
  lock.release();
  EXPECT_TRUE(survivor.get());
  EXPECT_TRUE(lock.locked());
  lock.release();
}

TEST(Lock, ExcludesGreenletsOfSeveralOsThreads) {
  green::Lock lock;
  long counter = 0;  // plain: the Lock alone orders the accesses
  auto work = [&] {
    std::vector<green::GreenletRef> gs;
    for (int g = 0; g < 20; ++g)
      gs.push_back(green::spawn([&] {
        for (int i = 0; i < 100; ++i) {
          std::lock_guard guard(lock);
          const long seen = counter;
          if (i % 10 == 0) green::sleep(0);
          counter = seen + 1;
        }
      }));
    green::joinall(gs);
  };
  std::thread a(work), b(work);
  work();
  a.join();
  b.join();
  EXPECT_EQ(counter, 3 * 20 * 100);
  EXPECT_FALSE(lock.locked());
}

}  // namespace
