// 10,000 greenlets doing random mixes of queue puts and gets, lock and semaphore use, under
// random timeouts, enclosing Timeouts and kills; then the invariants: every item whose put
// returned was taken exactly once by a get that returned, or is still queued; the lock
// never had two holders and is free; the semaphore never had more than its count and is
// back to it; nothing hung (every greenlet ended in bounded time).
#include <green/green.hpp>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace {

constexpr int kGreenlets = 10'000;
constexpr int kOpsEach = 8;
constexpr std::size_t kPermits = 5;

struct Shared {
  green::Queue<long> queue{64};
  green::Lock lock;
  green::Semaphore semaphore{kPermits};
  std::vector<long> produced, consumed;  // filled only when put/get returned
  int lock_holders = 0, lock_violations = 0;
  std::size_t sem_holders = 0, sem_violations = 0;
  long next_item = 0;
  std::size_t timeouts = 0, kills_seen = 0;
};

void one_operation(Shared& s, std::mt19937& rng) {
  std::uniform_int_distribution<int> pick(0, 5);
  std::uniform_real_distribution<double> wait(0.0, 0.003);
  switch (pick(rng)) {
    case 0: {  // put with its own timeout
      const long item = s.next_item++;
      try {
        s.queue.put(item, true, wait(rng));
        s.produced.push_back(item);
      } catch (const green::QueueFull&) {
        ++s.timeouts;
      }
      break;
    }
    case 1: {  // get with its own timeout
      try {
        s.consumed.push_back(s.queue.get(true, wait(rng)));
      } catch (const green::QueueEmpty&) {
        ++s.timeouts;
      }
      break;
    }
    case 2: {  // put under an enclosing Timeout
      const long item = s.next_item++;
      try {
        green::Timeout t(wait(rng));
        s.queue.put(item);
        s.produced.push_back(item);
      } catch (const green::TimeoutError&) {
        ++s.timeouts;
      }
      break;
    }
    case 3: {  // the lock, held across a switch
      if (!s.lock.acquire(true, wait(rng))) {
        ++s.timeouts;
        break;
      }
      if (++s.lock_holders != 1) ++s.lock_violations;
      struct Release {
        Shared& s;
        ~Release() {
          --s.lock_holders;
          s.lock.release();
        }
      } release{s};
      green::sleep(0);
      break;
    }
    case 4: {  // the semaphore, under an enclosing Timeout
      try {
        green::Timeout t(wait(rng));
        std::lock_guard guard(s.semaphore);
        if (++s.sem_holders > kPermits) ++s.sem_violations;
        struct Leave {
          Shared& s;
          ~Leave() { --s.sem_holders; }
        } leave{s};
        green::sleep(0);
      } catch (const green::TimeoutError&) {
        ++s.timeouts;
      }
      break;
    }
    default:  // get under an enclosing Timeout
      try {
        green::Timeout t(wait(rng));
        s.consumed.push_back(s.queue.get());
      } catch (const green::TimeoutError&) {
        ++s.timeouts;
      }
  }
}

TEST(MixedStress, QueuesLocksAndSemaphoresUnderKillsAndTimeouts) {
  Shared s;
  std::vector<green::GreenletRef> workers;
  workers.reserve(kGreenlets);
  for (int i = 0; i < kGreenlets; ++i)
    workers.push_back(green::spawn([&s, i] {
      std::mt19937 rng(static_cast<unsigned>(i));
      try {
        for (int op = 0; op < kOpsEach; ++op) one_operation(s, rng);
      } catch (const green::GreenletExit&) {
        ++s.kills_seen;
        throw;
      }
    }));
  auto killer = green::spawn([&] {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> victim(0, kGreenlets - 1);
    for (int k = 0; k < 2'000; ++k) {
      workers[static_cast<std::size_t>(victim(rng))].kill(false);
      if (k % 50 == 0) green::sleep(0);
    }
  });
  killer.join();
  const auto finished = green::joinall(workers, 60.0);
  ASSERT_EQ(finished.size(), workers.size()) << "some greenlets never ended";

  // Exactly-once delivery: consumed + still queued == produced, as multisets of unique items.
  std::multiset<long> taken(s.consumed.begin(), s.consumed.end());
  while (!s.queue.empty()) taken.insert(s.queue.get_nowait());
  const std::multiset<long> given(s.produced.begin(), s.produced.end());
  EXPECT_EQ(taken, given);
  EXPECT_EQ(std::set<long>(taken.begin(), taken.end()).size(), taken.size()) << "an item came out twice";

  EXPECT_EQ(s.lock_violations, 0);
  EXPECT_FALSE(s.lock.locked());
  EXPECT_EQ(s.sem_violations, 0u);
  EXPECT_EQ(s.semaphore.value(), kPermits) << "the semaphore's count drifted";
  // The mix really contended: waits gave up and kills landed.
  EXPECT_GT(s.timeouts, 0u);
  EXPECT_GT(s.kills_seen, 0u);
  EXPECT_GT(s.produced.size(), 1000u);
}

}  // namespace
