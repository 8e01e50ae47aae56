#include <gtest/gtest.h>
#include <green/green.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace {

// Marks "inside the critical section" for as long as it lives (kills unwind through it).
struct Inside {
  bool& flag;
  std::atomic<int>& violations;
  Inside(bool& f, std::atomic<int>& v) : flag(f), violations(v) {
    if (flag) ++violations;
    flag = true;
  }
  ~Inside() { flag = false; }
};

// Thousands of greenlets (and a second OS thread) take a Lock, an RLock and a Semaphore
// with random timeouts, Timeouts and kills. Afterwards nothing may be held, no permit may
// have drifted, and mutual exclusion must never have been violated.
TEST(SyncStress, RandomLockSemaphoreUseWithKillsAndTimeouts) {
  constexpr int kGreenlets = 5000;
  constexpr int kOps = 12;
  constexpr long kPermits = 5;
  green::Lock lock;
  green::RLock rlock;
  green::Semaphore sem(kPermits);
  green::Condition cond(lock);
  bool in_lock = false;
  bool in_rlock = false;
  std::atomic<int> in_sem{0};
  std::atomic<int> violations{0};
  int generation = 0;
  std::atomic<int> acquired{0}, gave_up{0}, interrupted{0};

  auto worker = [&](unsigned seed, bool local_only) {
    std::mt19937 rng(seed);
    auto timeout = [&]() -> std::optional<double> {
      switch (rng() % 3) {
        case 0: return std::nullopt;
        case 1: return 0.0;
        default: return 0.0005;
      }
    };
    for (int op = 0; op < kOps; ++op) {
      const unsigned what = local_only ? 1 : rng() % 4;
      std::optional<green::Timeout> scope;
      if (rng() % 8 == 0) scope.emplace(0.0002);
      try {
        if (what == 0) {
          std::unique_lock guard(lock, std::defer_lock);
          if (!lock.acquire(true, timeout())) {
            ++gave_up;
            continue;
          }
          ++acquired;
          guard = std::unique_lock(lock, std::adopt_lock);
          {
            Inside inside(in_lock, violations);
            if (rng() % 2) green::sleep(0);
          }
          if (rng() % 4 == 0) {
            ++generation;
            cond.notify_all();
          } else if (rng() % 4 == 0) {
            const int seen = generation;
            cond.wait_for([&] { return generation != seen; }, 0.0005);
            if (in_lock) ++violations;  // re-acquired: nobody else is inside
          }
        } else if (what == 1) {
          if (!sem.acquire(true, timeout())) {
            ++gave_up;
            continue;
          }
          ++acquired;
          std::lock_guard guard(sem, std::adopt_lock);
          if (in_sem.fetch_add(1) >= kPermits) ++violations;
          struct Leave {
            std::atomic<int>& n;
            ~Leave() { n.fetch_sub(1); }
          } leave{in_sem};
          if (rng() % 2) green::sleep(0);
        } else {
          if (!rlock.acquire(true, timeout())) {
            ++gave_up;
            continue;
          }
          ++acquired;
          std::lock_guard outer(rlock, std::adopt_lock);
          std::lock_guard inner(rlock);
          Inside inside(in_rlock, violations);
          if (rng() % 2) green::sleep(0);
        }
      } catch (const green::TimeoutError&) {
        ++interrupted;  // the scope's Timeout fired somewhere inside
      }
    }
  };

  // Another OS thread's greenlets share the semaphore (cross-thread releases and wakes).
  std::thread other([&] {
    std::vector<green::GreenletRef> gs;
    for (int i = 0; i < 300; ++i) gs.push_back(green::spawn(worker, 100000u + i, true));
    green::joinall(gs);
  });

  std::vector<green::GreenletRef> gs;
  for (int i = 0; i < kGreenlets; ++i) gs.push_back(green::spawn(worker, static_cast<unsigned>(i), false));
  auto killer = green::spawn([&] {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
      gs[rng() % gs.size()].kill(false);
      green::sleep(0);
    }
  });
  killer.get();
  EXPECT_EQ(green::joinall(gs, 60).size(), gs.size());
  other.join();

  // The mix really contended: some waits gave up, some were interrupted, some were killed.
  EXPECT_GT(acquired.load(), 0);
  EXPECT_GT(gave_up.load(), 0);
  EXPECT_GT(interrupted.load(), 0);
  EXPECT_GT(std::count_if(gs.begin(), gs.end(), [](const auto& g) { return !g.successful(); }), 0);
  EXPECT_EQ(violations.load(), 0);
  EXPECT_FALSE(lock.locked());
  EXPECT_FALSE(rlock.locked());
  EXPECT_EQ(sem.value(), static_cast<std::size_t>(kPermits));
  EXPECT_EQ(in_sem.load(), 0);
  for (const auto& g : gs)
    if (!g.successful()) {
      // Only kills may end a worker early.
      try {
        g.get();
      } catch (const green::GreenletExit&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "a worker died with: " << e.what();
      }
    }
}

}  // namespace
