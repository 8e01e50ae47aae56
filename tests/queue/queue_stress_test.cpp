// 10,000 greenlets put and get at random, with random timeouts (their own and enclosing
// green::Timeouts), non-blocking calls and kills; afterwards every item whose put returned
// was consumed exactly once or is still queued, and nothing else was.
#include <gtest/gtest.h>
#include <green/green.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace {

// What happened to items, from the test's point of view.
struct Ledger {
  std::mutex mutex;
  std::vector<std::int64_t> produced;  // put returned normally
  std::vector<std::int64_t> consumed;

  void add(std::vector<std::int64_t>& to, std::int64_t id) {
    std::lock_guard guard(mutex);
    to.push_back(id);
  }
};

// One worker: a few random operations on `q`, each exception accounted for.
template <class Q>
void work(Q& q, Ledger& ledger, std::uint64_t seed, std::int64_t first_id) {
  std::mt19937_64 rng(seed);
  std::int64_t next_id = first_id;
  for (int op = 0; op < 4; ++op) {
    const unsigned kind = rng() % 100;
    const bool block = rng() % 4 != 0;
    std::optional<double> timeout;
    if (rng() % 2 == 0) timeout = static_cast<double>(rng() % 2000) * 1e-6;
    std::optional<double> scope;
    if (rng() % 8 == 0) scope = static_cast<double>(rng() % 2000) * 1e-6;
    green::Timeout enclosing(scope);
    if (kind < 50) {
      const std::int64_t id = next_id++;
      try {
        q.put(id, block, timeout);
        ledger.add(ledger.produced, id);
      } catch (const green::QueueFull&) {
      } catch (const green::QueueClosed&) {
        return;
      } catch (const green::TimeoutError&) {
      }
    } else {
      try {
        std::int64_t id = q.get(block, timeout);
        ledger.add(ledger.consumed, id);  // no switch point between get and here
      } catch (const green::QueueEmpty&) {
      } catch (const green::QueueClosed&) {
        return;
      } catch (const green::TimeoutError&) {
      }
    }
    try {
      if (rng() % 3 == 0) green::sleep(static_cast<double>(rng() % 500) * 1e-6);
    } catch (const green::TimeoutError&) {
    }
  }
}

template <class Q>
void drain(Q& q, Ledger& ledger) {
  q.close();
  for (auto& id : q) ledger.consumed.push_back(id);
}

// Every item whose put returned was consumed exactly once; nothing else was.
void check(Ledger& ledger) {
  std::vector<std::int64_t> consumed = ledger.consumed;
  std::sort(consumed.begin(), consumed.end());
  EXPECT_EQ(std::adjacent_find(consumed.begin(), consumed.end()), consumed.end()) << "an item was duplicated";
  std::vector<std::int64_t> produced = ledger.produced;
  std::sort(produced.begin(), produced.end());
  std::vector<std::int64_t> missing;
  std::set_difference(produced.begin(), produced.end(), consumed.begin(), consumed.end(), std::back_inserter(missing));
  EXPECT_TRUE(missing.empty()) << missing.size() << " produced items were lost";
  std::vector<std::int64_t> extra;
  std::set_difference(consumed.begin(), consumed.end(), produced.begin(), produced.end(), std::back_inserter(extra));
  EXPECT_TRUE(extra.empty()) << extra.size() << " items were consumed though their put failed";
  EXPECT_GT(produced.size(), 1000u);  // the run did real work (1,500 a hub: about 5,500)
}

template <class Q>
void run_one_hub(Q& q, int greenlets, int kills, std::uint64_t seed, Ledger& ledger) {
  std::mt19937_64 rng(seed);
  std::vector<green::GreenletRef> workers;
  workers.reserve(greenlets);
  for (int i = 0; i < greenlets; ++i)
    workers.push_back(green::spawn(work<Q>, std::ref(q), std::ref(ledger), rng(), std::int64_t(i) * 16));
  auto killer = green::spawn([&] {
    std::mt19937_64 local(seed ^ 0x5eed);
    for (int k = 0; k < kills; ++k) {
      workers[local() % workers.size()].kill(false);
      if (k % 16 == 0) green::sleep(static_cast<double>(local() % 300) * 1e-6);
    }
  });
  killer.get(30);
  green::joinall(workers, 2.0);  // those still blocked without a timeout wait for close()
  drain(q, ledger);
  green::joinall(workers, 30);
  for (auto& w : workers) ASSERT_TRUE(w.ready()) << "a worker hung after close()";
}

TEST(QueueStress, TenThousandGreenletsBoundedQueue) {
  green::Queue<std::int64_t> q(16);
  Ledger ledger;
  run_one_hub(q, 10000, 2000, 1, ledger);
  check(ledger);
}

TEST(QueueStress, TenThousandGreenletsChannel) {
  green::Channel<std::int64_t> ch;
  Ledger ledger;
  run_one_hub(ch, 10000, 2000, 2, ledger);
  check(ledger);
}

TEST(QueueStress, TenThousandGreenletsUnboundedPriorityQueue) {
  green::PriorityQueue<std::int64_t> q;
  Ledger ledger;
  run_one_hub(q, 10000, 2000, 3, ledger);
  check(ledger);
}

TEST(QueueStress, TwoHubsShareABoundedQueue) {
  green::Queue<std::int64_t> q(8);
  Ledger ledger;
#if defined(__SANITIZE_THREAD__)
  // TSan's slowdown made 3,000 a hub take up to 140 s on a loaded 2-core machine (ctest
  // allows 120): fewer greenlets still make thousands of cross-thread hand-offs.
  constexpr int kPerHub = 1500;
#else
  constexpr int kPerHub = 3000;
#endif
  std::atomic<int> hubs_done{0};
  auto hub_body = [&](int hub) {
    std::mt19937_64 rng(100 + hub);
    std::vector<green::GreenletRef> workers;
    for (int i = 0; i < kPerHub; ++i)
      workers.push_back(green::spawn(work<green::Queue<std::int64_t>>, std::ref(q), std::ref(ledger), rng(),
                                     (std::int64_t(hub) * kPerHub + i) * 16));
    for (int k = 0; k < 500; ++k) {
      workers[rng() % workers.size()].kill(false);
      if (k % 16 == 0) green::sleep(0.0002);
    }
    green::joinall(workers, 2.0);
    ++hubs_done;
    while (!q.closed()) green::sleep(0.001);  // the main thread closes once both hubs settled
    green::joinall(workers, 30);
    for (auto& w : workers) EXPECT_TRUE(w.ready());
  };
  std::thread other(hub_body, 1);
  auto here = green::spawn(hub_body, 0);
  while (hubs_done.load() < 2) green::sleep(0.001);
  std::vector<std::int64_t> rest;
  q.close();
  here.get(60);
  other.join();
  for (auto& id : q) rest.push_back(id);
  ledger.consumed.insert(ledger.consumed.end(), rest.begin(), rest.end());
  check(ledger);
}

}  // namespace
