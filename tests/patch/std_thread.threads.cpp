// An ordinary C++ program on std::thread, std::mutex, std::condition_variable, std::async,
// std::call_once, C++20 latch/semaphore/atomic wait and std::this_thread::sleep_for, run
// unchanged under --threads.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <latch>
#include <mutex>
#include <numeric>
#include <queue>
#include <semaphore>
#include <set>
#include <thread>
#include <vector>

#include "threads_check.h"

using namespace std::chrono_literals;

int main() {
  // A work queue: 16 workers on std::mutex + std::condition_variable.
  std::mutex m;
  std::condition_variable cv;
  std::queue<int> work;
  bool closed = false;
  long total = 0;
  std::vector<std::thread> workers;
  for (int i = 0; i < 16; ++i)
    workers.emplace_back([&] {
      for (;;) {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return closed || !work.empty(); });
        if (work.empty()) return;
        int v = work.front();
        work.pop();
        lock.unlock();
        std::this_thread::sleep_for(100us);
        std::lock_guard guard(m);
        total += v;
      }
    });
  for (int i = 1; i <= 1000; ++i) {
    std::lock_guard guard(m);
    work.push(i);
    cv.notify_one();
  }
  {
    std::lock_guard guard(m);
    closed = true;
  }
  cv.notify_all();
  for (auto& t : workers) t.join();
  CHECK_EQ(total, 1000 * 1001 / 2);

  // wait_for on a steady clock (pthread_cond_clockwait) times out, and is woken in time.
  {
    std::unique_lock lock(m);
    auto start = std::chrono::steady_clock::now();
    CHECK(cv.wait_for(lock, 30ms) == std::cv_status::timeout);
    CHECK(std::chrono::steady_clock::now() - start >= 29ms);
    bool flag = false;
    std::thread setter([&] {
      std::this_thread::sleep_for(10ms);
      std::lock_guard guard(m);
      flag = true;
      cv.notify_one();
    });
    CHECK(cv.wait_for(lock, 10s, [&] { return flag; }));
    lock.unlock();
    setter.join();
  }

  // std::async and futures (libstdc++ waits on them with raw futexes).
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 64; ++i)
    futures.push_back(std::async(std::launch::async, [i] {
      std::this_thread::sleep_for(20ms);
      return i * i;
    }));
  auto start = std::chrono::steady_clock::now();
  long squares = 0;
  for (auto& f : futures) squares += f.get();
  CHECK_EQ(squares, 63L * 64 * 127 / 6);
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // concurrent, not 64 x 20 ms in a row

  std::promise<int> promise;
  auto future = promise.get_future();
  CHECK(future.wait_for(10ms) == std::future_status::timeout);
  std::thread fulfil([&] {
    std::this_thread::sleep_for(5ms);
    promise.set_value(7);
  });
  CHECK_EQ(future.get(), 7);
  fulfil.join();

  // Distinct thread ids; call_once runs once; C++20 waits.
  std::once_flag once;
  std::atomic<int> once_runs{0};
  std::set<std::thread::id> ids;
  std::mutex ids_lock;
  std::latch ready(32);
  std::counting_semaphore<4> slots(4);
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<std::thread> group;
  for (int i = 0; i < 32; ++i)
    group.emplace_back([&] {
      std::call_once(once, [&] {
        std::this_thread::sleep_for(5ms);
        ++once_runs;
      });
      {
        std::lock_guard guard(ids_lock);
        ids.insert(std::this_thread::get_id());
      }
      ready.arrive_and_wait();
      slots.acquire();
      int now = ++inside;
      int seen = max_inside.load();
      while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(1ms);
      --inside;
      slots.release();
    });
  for (auto& t : group) t.join();
  CHECK_EQ(once_runs.load(), 1);
  CHECK_EQ(ids.size(), 32u);
  CHECK(ids.count(std::this_thread::get_id()) == 0);
  CHECK(max_inside.load() >= 1 && max_inside.load() <= 4);

  std::atomic<int> flag{0};
  std::thread notifier([&] {
    std::this_thread::sleep_for(5ms);
    flag = 1;
    flag.notify_one();
  });
  flag.wait(0);
  notifier.join();
  CHECK_EQ(flag.load(), 1);

  // A function-local static whose initialiser yields: the others wait for it (libstdc++
  // guards it with a raw futex).
  static std::atomic<int> static_inits{0};
  auto slow_static = [] {
    static int value = [] {
      std::this_thread::sleep_for(10ms);
      ++static_inits;
      return 5;
    }();
    return value;
  };
  std::vector<std::thread> statics;
  std::atomic<int> static_sum{0};
  for (int i = 0; i < 8; ++i) statics.emplace_back([&] { static_sum += slow_static(); });
  for (auto& t : statics) t.join();
  CHECK_EQ(static_inits.load(), 1);
  CHECK_EQ(static_sum.load(), 40);

  std::thread yielder([] {
    for (int i = 0; i < 100; ++i) std::this_thread::yield();
  });
  yielder.join();

  CHECK(os_threads() <= 4);
  std::printf("std::thread, mutex, condition_variable, async: ok\n");
  return 0;
}
