#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <thread>

#include "green/event.hpp"
#include "green/greenlet.hpp"

namespace {

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// A hub with nothing to do but wait for another OS thread looks again once a second; it
// must sleep in between, every second, not only in the first (its one-shot recheck timer
// is re-armed each time).
TEST(HubIdle, WaitingOnlyForAnotherThreadSleeps) {
  green::Event done;
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));  // past three rechecks
    done.set();
  });
  const double before = thread_cpu_seconds();
  EXPECT_TRUE(done.wait());  // no timeout: a timer would keep the hub in one long poll
  const double used = thread_cpu_seconds() - before;
  other.join();
  EXPECT_LT(used, 0.25) << "the hub spun while it waited";  // a busy loop burns seconds
}

}  // namespace
