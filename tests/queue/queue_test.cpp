#include <gtest/gtest.h>
#include <green/green.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Yields until `done` holds; bounded so that a broken queue fails instead of hanging.
void wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "condition never held";
    green::sleep(0.0005);
  }
}

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception thrown";
  return {};
}

TEST(Queue, FifoOrderAndSize) {
  green::Queue<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.maxsize(), 0u);
  for (int i = 0; i < 100; ++i) q.put(i);
  EXPECT_EQ(q.qsize(), 100u);
  EXPECT_FALSE(q.full());  // unbounded
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q.get(), i);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, NowaitErrorsSayWhatHappened) {
  green::Queue<int> q(2);
  q.put_nowait(1);
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(message_of<green::QueueFull>([&] { q.put_nowait(3); }),
            "green::Queue.put_nowait: the queue is full (maxsize 2)");
  EXPECT_THROW(q.put(3, false), green::QueueFull);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.get(false), 2);
  EXPECT_EQ(message_of<green::QueueEmpty>([&] { q.get_nowait(); }), "green::Queue.get_nowait: the queue is empty");
}

TEST(Queue, TimeoutsThrowEmptyAndFullAndChangeNothing) {
  green::Queue<int> q(1);
  auto start = std::chrono::steady_clock::now();
  std::string message = message_of<green::QueueEmpty>([&] { q.get(true, 0.02); });
  EXPECT_EQ(message, "green::Queue.get: timed out after 0.02 s; the queue is empty");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(15));
  q.put(1);
  message = message_of<green::QueueFull>([&] { q.put(2, true, 0.01); });
  EXPECT_EQ(message, "green::Queue.put: timed out after 0.01 s; the queue is full (maxsize 1)");
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.waiting_putters(), 0u);
  EXPECT_EQ(q.get(), 1);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, NegativeTimeoutIsRejected) {
  green::Queue<int> q;
  EXPECT_THROW(q.get(true, -1.0), std::invalid_argument);
  EXPECT_EQ(q.waiting_getters(), 0u);
}

TEST(Queue, GetterWakesOnPut) {
  green::Queue<std::string> q;
  auto getter = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  q.put("hello");
  EXPECT_EQ(getter.get(5), "hello");
}

TEST(Queue, GettersAreServedInTheOrderTheyWaited) {
  green::Queue<int> q;
  std::vector<int> got(5, -1);
  std::vector<int> order;
  std::vector<green::GreenletRef> getters;
  for (int i = 0; i < 5; ++i) {
    getters.push_back(green::spawn([&, i] {
      got[i] = q.get();
      order.push_back(i);
    }));
    wait_until([&] { return q.waiting_getters() == static_cast<std::size_t>(i + 1); });
  }
  for (int i = 0; i < 5; ++i) q.put(i * 10);
  green::joinall(getters, 5);
  EXPECT_EQ(got, (std::vector<int>{0, 10, 20, 30, 40}));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Queue, PuttersAreServedInTheOrderTheyWaited) {
  green::Queue<int> q(1);
  q.put(-1);
  std::vector<green::GreenletRef> putters;
  for (int i = 0; i < 5; ++i) {
    putters.push_back(green::spawn([&, i] { q.put(i); }));
    wait_until([&] { return q.waiting_putters() == static_cast<std::size_t>(i + 1); });
  }
  std::vector<int> got;
  for (int i = 0; i < 6; ++i) got.push_back(q.get());
  EXPECT_EQ(got, (std::vector<int>{-1, 0, 1, 2, 3, 4}));
  green::joinall(putters, 5);
}

TEST(Queue, BoundedQueueHoldsBackTheProducer) {
  constexpr std::size_t kMax = 3;
  green::Queue<int> q(kMax);
  int produced = 0;
  auto producer = green::spawn([&] {
    for (int i = 0; i < 200; ++i) {
      q.put(i);
      ++produced;
    }
  });
  for (int consumed = 1; consumed <= 200; ++consumed) {
    EXPECT_EQ(q.get(), consumed - 1);
    EXPECT_LE(produced, consumed + static_cast<int>(kMax));
    EXPECT_LE(q.qsize(), kMax);
    if (consumed % 7 == 0) green::sleep(0);
  }
  producer.get(5);
}

TEST(Queue, KilledGetterTakesNoItem) {
  green::Queue<int> q;
  auto getter = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  getter.kill();
  EXPECT_EQ(q.waiting_getters(), 0u);
  q.put(7);
  EXPECT_EQ(q.get_nowait(), 7);
}

TEST(Queue, TimedOutGetterTakesNoItem) {
  green::Queue<int> q;
  auto getter = green::spawn([&] { return q.get(true, 0.01); });
  EXPECT_THROW(getter.get(5), green::QueueEmpty);
  q.put(7);
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.get_nowait(), 7);
}

TEST(Queue, ItemHandedToAGetterKilledBeforeItRanGoesBackToTheFront) {
  green::Queue<int> q;
  auto getter = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  q.put(1);                  // handed to the getter, which has not run yet
  getter.kill(false);        // the kill arrives before it runs
  q.put(2);
  EXPECT_TRUE(getter.join(5));
  EXPECT_FALSE(getter.successful());
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_EQ(q.get_nowait(), 1);  // back at the front, ahead of 2
  EXPECT_EQ(q.get_nowait(), 2);
}

TEST(Queue, ItemHandedToAKilledGetterGoesToTheNextGetter) {
  green::Queue<int> q;
  auto first = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  auto second = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 2; });
  q.put(1);
  first.kill(false);
  EXPECT_EQ(second.get(5), 1);
  EXPECT_TRUE(first.join(5));
  EXPECT_TRUE(q.empty());
}

TEST(Queue, ItemHandedToAGetterWhoseTimeoutFiredGoesBack) {
  green::Queue<int> q;
  bool timed_out = false;
  int taken = 0;
  auto getter = green::spawn([&] {
    green::Timeout timeout(0.01);
    try {
      q.get();
      ++taken;
      green::sleep(1);  // got the item: the timeout fires here instead
    } catch (const green::TimeoutError& e) {
      timed_out = e.from(timeout);
    }
  });
  wait_until([&] { return q.waiting_getters() == 1; });
  // Busy-wait past the getter's deadline without yielding, then hand it an item: the
  // timer and the hand-off reach it in the same loop iteration.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  while (std::chrono::steady_clock::now() < until) {
  }
  q.put(5);
  getter.get(5);
  EXPECT_TRUE(timed_out);
  // Either the getter took 5 before its timeout fired, or it gave it back: never both,
  // never lost.
  EXPECT_EQ(taken + static_cast<int>(q.qsize()), 1);
}

TEST(Queue, KilledPutterDoesNotInsert) {
  green::Queue<int> q(1);
  q.put(1);
  auto putter = green::spawn([&] { q.put(2); });
  wait_until([&] { return q.waiting_putters() == 1; });
  putter.kill(false);  // pending: a get now must not take 2 from it
  EXPECT_EQ(q.get(), 1);
  EXPECT_TRUE(putter.join(5));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.waiting_putters(), 0u);
}

TEST(Queue, PutWhoseItemWasTakenBeforeAKillReturnsAndTheKillComesNext) {
  green::Queue<int> q(1);
  q.put(1);
  bool put_returned = false;
  bool ran_on = false;
  auto putter = green::spawn([&] {
    q.put(2);
    put_returned = true;  // the put happened: it must not throw
    green::sleep(0);      // the kill arrives here
    ran_on = true;
  });
  wait_until([&] { return q.waiting_putters() == 1; });
  EXPECT_EQ(q.get(), 1);  // moves 2 in from the waiting putter
  putter.kill(false);     // arrives after the hand-off, before the putter runs
  EXPECT_TRUE(putter.join(5));
  EXPECT_TRUE(put_returned);
  EXPECT_FALSE(ran_on);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, EnclosingTimeoutInterruptsGetAndPut) {
  green::Queue<int> q(1);
  {
    green::Timeout timeout(0.01);
    try {
      q.get();
      FAIL() << "get returned";
    } catch (const green::TimeoutError& e) {
      EXPECT_TRUE(e.from(timeout));
    }
  }
  q.put(1);
  {
    green::Timeout timeout(0.01);
    EXPECT_THROW(q.put(2), green::TimeoutError);
  }
  EXPECT_EQ(q.qsize(), 1u);
  EXPECT_EQ(q.waiting_getters() + q.waiting_putters(), 0u);
}

TEST(Queue, CloseLetsGettersDrainThenEnds) {
  green::Queue<int> q;
  q.put(1);
  q.put(2);
  q.close();
  EXPECT_TRUE(q.closed());
  EXPECT_EQ(message_of<green::QueueClosed>([&] { q.put(3); }), "green::Queue.put: the queue is closed");
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_EQ(message_of<green::QueueClosed>([&] { q.get(); }), "green::Queue.get: the queue is closed and empty");
  EXPECT_THROW(q.get_nowait(), green::QueueClosed);
  q.close();  // idempotent
}

TEST(Queue, CloseWakesWaitingGettersAndPutters) {
  green::Queue<int> empty;
  std::vector<green::Greenlet<int>> getters;
  for (int i = 0; i < 3; ++i) getters.push_back(green::spawn([&] { return empty.get(); }));
  wait_until([&] { return empty.waiting_getters() == 3; });
  empty.close();
  for (auto& g : getters) EXPECT_THROW(g.get(5), green::QueueClosed);

  green::Queue<int> full(1);
  full.put(1);
  auto putter = green::spawn([&] { full.put(2); });
  wait_until([&] { return full.waiting_putters() == 1; });
  full.close();
  EXPECT_THROW(putter.get(5), green::QueueClosed);
  EXPECT_EQ(full.get(), 1);  // the putter kept its item
  EXPECT_THROW(full.get(), green::QueueClosed);
}

TEST(Queue, RangeForEndsWhenClosedAndEmpty) {
  green::Queue<int> q(4);
  auto producer = green::spawn([&] {
    for (int i = 1; i <= 100; ++i) q.put(i);
    q.close();
  });
  int sum = 0;
  int count = 0;
  for (auto& item : q) {
    sum += item;
    ++count;
  }
  EXPECT_EQ(count, 100);
  EXPECT_EQ(sum, 5050);
  producer.get(5);
}

TEST(Queue, MoveOnlyItems) {
  green::Queue<std::unique_ptr<int>> q(1);
  auto consumer = green::spawn([&] {
    int sum = 0;
    for (auto& p : q) sum += *p;
    return sum;
  });
  for (int i = 0; i < 10; ++i) q.put(std::make_unique<int>(i));
  q.close();
  EXPECT_EQ(consumer.get(5), 45);
}

TEST(Queue, PeekLeavesTheItem) {
  green::Queue<int> q;
  EXPECT_THROW(q.peek_nowait(), green::QueueEmpty);
  EXPECT_THROW(q.peek(true, 0.01), green::QueueEmpty);
  q.put(4);
  q.put(5);
  EXPECT_EQ(q.peek(), 4);
  EXPECT_EQ(q.peek_nowait(), 4);
  EXPECT_EQ(q.qsize(), 2u);
}

TEST(Queue, BlockingPeekSeesTheNextItemEvenIfAGetterTakesIt) {
  green::Queue<int> q;
  auto peeker = green::spawn([&] { return q.peek(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  auto getter = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 2; });
  q.put(9);
  EXPECT_EQ(peeker.get(5), 9);
  EXPECT_EQ(getter.get(5), 9);
  EXPECT_TRUE(q.empty());

  auto lone_peeker = green::spawn([&] { return q.peek(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  q.put(3);
  EXPECT_EQ(lone_peeker.get(5), 3);
  EXPECT_EQ(q.get_nowait(), 3);
}

TEST(Queue, WaitingForeverIsLoopExitNotAHang) {
  green::Queue<int> q;
  EXPECT_THROW(q.get(), green::LoopExit);
  EXPECT_EQ(q.waiting_getters(), 0u);
  q.put(1);
  EXPECT_EQ(q.get(), 1);
}

TEST(Queue, PutFromAnotherThreadWakesAGetterHere) {
  green::Queue<int> q;
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (int i = 0; i < 1000; ++i) q.put(i);
  });
  long sum = 0;
  for (int i = 0; i < 1000; ++i) sum += q.get(true, 10);
  EXPECT_EQ(sum, 999 * 1000 / 2);
  other.join();
}

TEST(Queue, GetFromAnotherThreadWakesAPutterHere) {
  green::Queue<int> q(2);
  std::atomic<long> sum{0};
  std::thread other([&] {
    for (int i = 0; i < 1000; ++i) sum += q.get(true, 10);  // blocks on that thread's own hub
  });
  for (int i = 0; i < 1000; ++i) q.put(i, true, 10);
  other.join();
  EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}

TEST(Queue, GreenletsOfTwoHubsShareAQueue) {
  green::Queue<int> q(8);
  std::atomic<long> sum{0};
  std::thread consumer_thread([&] {
    std::vector<green::GreenletRef> consumers;
    for (int c = 0; c < 10; ++c)
      consumers.push_back(green::spawn([&] {
        for (auto& item : q) sum += item;
      }));
    green::joinall(consumers);
  });
  std::vector<green::GreenletRef> producers;
  for (int p = 0; p < 10; ++p)
    producers.push_back(green::spawn([&, p] {
      for (int i = 0; i < 500; ++i) q.put(p * 500 + i);
    }));
  green::joinall(producers, 30);
  q.close();
  consumer_thread.join();
  EXPECT_EQ(sum.load(), 4999L * 5000 / 2);
}

TEST(LifoQueue, LastInFirstOut) {
  green::LifoQueue<int> q;
  for (int i = 0; i < 5; ++i) q.put(i);
  EXPECT_EQ(q.peek(), 4);
  std::vector<int> got;
  while (!q.empty()) got.push_back(q.get());
  EXPECT_EQ(got, (std::vector<int>{4, 3, 2, 1, 0}));
}

TEST(LifoQueue, KilledGetterGivesItsItemBackOnTop) {
  green::LifoQueue<int> q;
  auto getter = green::spawn([&] { return q.get(); });
  wait_until([&] { return q.waiting_getters() == 1; });
  q.put(1);
  getter.kill(false);
  q.put(2);
  EXPECT_TRUE(getter.join(5));
  EXPECT_EQ(q.get(), 1);  // it was given before 2 was put: LIFO puts it on top anyway
  EXPECT_EQ(q.get(), 2);
}

TEST(PriorityQueue, SmallestFirstAndEqualItemsInInsertionOrder) {
  using Item = std::pair<int, std::string>;
  struct ByPriority {
    bool operator()(const Item& a, const Item& b) const { return a.first < b.first; }
  };
  green::PriorityQueue<Item, ByPriority> q;
  q.put({3, "c"});
  q.put({1, "a1"});
  q.put({2, "b"});
  q.put({1, "a2"});
  q.put({1, "a3"});
  EXPECT_EQ(q.peek().second, "a1");
  std::vector<std::string> got;
  while (!q.empty()) got.push_back(q.get().second);
  EXPECT_EQ(got, (std::vector<std::string>{"a1", "a2", "a3", "b", "c"}));
}

TEST(PriorityQueue, GreaterGivesLargestFirstAndBoundsWork) {
  green::PriorityQueue<int, std::greater<int>> q(3);
  q.put(1);
  q.put(5);
  q.put(3);
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait(4), green::QueueFull);
  EXPECT_EQ(q.get(), 5);
  EXPECT_EQ(q.get(), 3);
  EXPECT_EQ(q.get(), 1);
}

TEST(JoinableQueue, JoinWaitsForEveryTaskDone) {
  green::JoinableQueue<int> q;
  EXPECT_TRUE(q.join(0));
  for (int i = 0; i < 3; ++i) q.put(i);
  EXPECT_EQ(q.unfinished_tasks(), 3u);
  EXPECT_FALSE(q.join(0.01));
  auto worker = green::spawn([&] {
    for (auto& item : q) {
      (void)item;
      green::sleep(0.001);
      q.task_done();
    }
  });
  EXPECT_TRUE(q.join(5));
  EXPECT_EQ(q.unfinished_tasks(), 0u);
  q.close();
  worker.get(5);
}

TEST(JoinableQueue, TaskDoneTooOftenThrows) {
  green::JoinableQueue<int> q;
  q.put(1);
  q.get();
  q.task_done();
  try {
    q.task_done();
    FAIL() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "green::JoinableQueue.task_done: called more times than there were items put");
  }
}

TEST(JoinableQueue, FailedPutsAreNotCounted) {
  green::JoinableQueue<int> q(1);
  q.put(1);
  EXPECT_THROW(q.put_nowait(2), green::QueueFull);
  EXPECT_THROW(q.put(2, true, 0.001), green::QueueFull);
  EXPECT_EQ(q.unfinished_tasks(), 1u);
}

}  // namespace
