// A waiter that has just linked itself races a partner on another OS thread that spins on
// the non-blocking call: the partner takes the lock the moment the waiter releases it and
// completes the hand-off before the waiter has even started to wait. The waiter must then
// see the hand-off (its put returned, its get has the item), never "the queue is closed":
// a queue that was never closed once made a put throw QueueClosed after its item had been
// taken, and made a get lose the item it had been handed (TSan's slowdown widened the gap).
#include <gtest/gtest.h>
#include <green/green.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
// The partner spins on a call that throws when it misses: under a sanitizer each miss costs
// tens of microseconds and one test took a minute on a loaded machine with 3,000 items.
constexpr int kItems = 300;
#else
constexpr int kItems = 3000;
#endif

// Between misses: spin, but let the waiter's thread have the CPU now and then on a
// machine with fewer cores than runnable threads.
void missed(int& misses) {
  if (++misses % 16 == 0) std::this_thread::yield();
}

TEST(QueueCrossThread, PutLinkedJustBeforeAnotherThreadTakesTheItem) {
  green::Channel<std::int64_t> ch;
  std::vector<std::int64_t> got;
  std::thread taker([&] {
    int misses = 0;
    while (got.size() < kItems) {
      try {
        got.push_back(ch.get_nowait());
      } catch (const green::QueueEmpty&) {
        missed(misses);
      }
    }
  });
  int failed = 0;
  for (std::int64_t i = 0; i < kItems; ++i) {
    try {
      ch.put(i);
    } catch (const green::QueueClosed&) {
      ++failed;  // the bug: the item was delivered all the same
    }
  }
  taker.join();
  EXPECT_EQ(failed, 0) << "put threw QueueClosed on an open channel";
  ASSERT_EQ(got.size(), std::size_t(kItems));
  for (std::int64_t i = 0; i < kItems; ++i) ASSERT_EQ(got[i], i);
}

TEST(QueueCrossThread, GetLinkedJustBeforeAnotherThreadHandsAnItem) {
  green::Channel<std::int64_t> ch;
  std::atomic<bool> stop{false};
  std::int64_t sent = 0;
  std::thread giver([&] {
    int misses = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      try {
        ch.put_nowait(sent);
        ++sent;
      } catch (const green::QueueFull&) {
        missed(misses);
      }
    }
  });
  std::vector<std::int64_t> got;
  int failed = 0;
  while (got.size() < kItems) {
    try {
      got.push_back(ch.get());
    } catch (const green::QueueClosed&) {
      ++failed;  // the bug: the item handed over was dropped with the waiter
    }
  }
  stop = true;
  giver.join();
  EXPECT_EQ(failed, 0) << "get threw QueueClosed on an open channel";
  EXPECT_EQ(sent, kItems);
  for (std::int64_t i = 0; i < kItems; ++i) ASSERT_EQ(got[i], i);
}

TEST(QueueCrossThread, BoundedQueuePutterRefilledByAnotherThread) {
  green::Queue<std::int64_t> q(1);
  std::vector<std::int64_t> got;
  std::thread taker([&] {
    int misses = 0;
    while (got.size() < kItems) {
      try {
        got.push_back(q.get_nowait());
      } catch (const green::QueueEmpty&) {
        missed(misses);
      }
    }
  });
  int failed = 0;
  for (std::int64_t i = 0; i < kItems; ++i) {
    try {
      q.put(i);
    } catch (const green::QueueClosed&) {
      ++failed;
    }
  }
  taker.join();
  EXPECT_EQ(failed, 0) << "put threw QueueClosed on an open queue";
  ASSERT_EQ(got.size(), std::size_t(kItems));
  for (std::int64_t i = 0; i < kItems; ++i) ASSERT_EQ(got[i], i);
}

}  // namespace
