// sleep(0) between two greenlets against Boost.Fiber's yield between two fibers, and what a
// greenlet spinning on sleep(0) does to everyone else: timers and cross-thread wake-ups
// (an ev_async, the path I/O takes too) must still run within 1 ms, although the hub polls
// the kernel only every Hub::kPollInterval of busy run queue.
// Targets (issue 2): sleep(0) round trip at most 2x Boost.Fiber's yield; lateness <= 1 ms.
#include <benchmark/benchmark.h>

#include <boost/fiber/all.hpp>
#include <green/green.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "ratio.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// One iteration: the measuring greenlet yields, the partner runs and yields back.
void BM_GreenSleep0(benchmark::State& state) {
  bool done = false;
  auto partner = green::spawn([&] {
    while (!done) green::sleep(0);
  });
  green::spawn([&] {
    for (auto _ : state) green::sleep(0);
    done = true;
  }).join();
  partner.join();
}
BENCHMARK(BM_GreenSleep0);

void BM_FiberYield(benchmark::State& state) {
  bool done = false;
  boost::fibers::fiber partner([&] {
    while (!done) boost::this_fiber::yield();
  });
  boost::fibers::fiber([&] {
    for (auto _ : state) boost::this_fiber::yield();
    done = true;
  }).join();
  partner.join();
}
BENCHMARK(BM_FiberYield);

// A timer of 1 ms while another greenlet spins on sleep(0): how late does it fire?
void BM_TimerUnderYieldLoop(benchmark::State& state) {
  bool done = false;
  auto spinner = green::spawn([&] {
    while (!done) green::sleep(0);
  });
  double total = 0, worst = 0;
  green::spawn([&] {
    for (auto _ : state) {
      const auto start = Clock::now();
      green::sleep(0.001);
      const double late = micros_since(start) - 1000.0;
      total += late;
      worst = std::max(worst, late);
    }
    done = true;
  }).join();
  spinner.join();
  state.counters["late_us_avg"] = total / static_cast<double>(state.iterations());
  state.counters["late_us_max"] = worst;
}
BENCHMARK(BM_TimerUnderYieldLoop)->Iterations(500)->UseRealTime();

// Another OS thread sets an Event (the hub hears it through its ev_async, the same path
// as I/O readiness) while a greenlet spins on sleep(0): how long until the waiter runs?
void BM_WakeUnderYieldLoop(benchmark::State& state) {
  bool done = false;
  auto spinner = green::spawn([&] {
    while (!done) green::sleep(0);
  });
  green::Event ping;
  std::atomic<Clock::rep> sent_at{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> consumed{true};
  std::thread setter([&] {
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (!consumed.exchange(false)) {
        consumed = false;
        continue;
      }
      sent_at = Clock::now().time_since_epoch().count();
      ping.set();
    }
  });
  double total = 0, worst = 0;
  green::spawn([&] {
    for (auto _ : state) {
      ping.wait();
      const double latency =
          std::chrono::duration<double, std::micro>(Clock::now().time_since_epoch() - Clock::duration(sent_at.load()))
              .count();
      ping.clear();
      consumed = true;
      total += latency;
      worst = std::max(worst, latency);
    }
    done = true;
  }).join();
  stop = true;
  setter.join();
  spinner.join();
  state.counters["wake_us_avg"] = total / static_cast<double>(state.iterations());
  state.counters["wake_us_max"] = worst;
}
BENCHMARK(BM_WakeUnderYieldLoop)->Iterations(500)->UseRealTime();

}  // namespace

GREEN_RATIO(sleep0_vs_yield, "sleep(0) round trip: greenlets / Boost.Fiber yield", "BM_GreenSleep0",
            "BM_FiberYield", green_bench::at_most(2.0));
GREEN_LIMIT(timer_late, "1 ms timer lateness under a sleep(0) loop (average)", "BM_TimerUnderYieldLoop",
            "late_us_avg", "us", green_bench::at_most(1000));
GREEN_LIMIT(wake_latency, "cross-thread wake-up under a sleep(0) loop (average)", "BM_WakeUnderYieldLoop",
            "wake_us_avg", "us", green_bench::at_most(1000));
