#include <gtest/gtest.h>
#include <ev.h>
#include <green/green.hpp>

#include <chrono>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

TEST(Timeout, FiresAtTheSwitchPoint) {
  auto start = clock_type::now();
  green::Timeout timeout(0.02);
  try {
    green::sleep(10);
    FAIL() << "sleep was not interrupted";
  } catch (const green::TimeoutError& e) {
    EXPECT_TRUE(e.from(timeout));
  }
  auto elapsed = clock_type::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(15));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(Timeout, CancelledByScopeExit) {
  {
    green::Timeout timeout(0.01);
    EXPECT_TRUE(timeout.pending());
  }
  green::sleep(0.03);  // the expired scope must not fire here
  SUCCEED();
}

TEST(Timeout, NestedOnlyTheOneThatFiredCatchesIt) {
  green::Timeout outer(0.02);
  bool inner_caught = false;
  bool outer_caught = false;
  try {
    green::Timeout inner(10);
    try {
      green::sleep(10);
    } catch (const green::TimeoutError& e) {
      if (!e.from(inner)) throw;
      inner_caught = true;
    }
  } catch (const green::TimeoutError& e) {
    outer_caught = e.from(outer);
  }
  EXPECT_FALSE(inner_caught);
  EXPECT_TRUE(outer_caught);
}

TEST(Timeout, InnerFiresFirstAndIsCaughtByItsScope) {
  green::Timeout outer(10);
  bool inner_caught = false;
  green::Timeout inner(0.01);
  try {
    green::sleep(10);
  } catch (const green::TimeoutError& e) {
    inner_caught = e.from(inner);
  }
  EXPECT_TRUE(inner_caught);
  EXPECT_TRUE(outer.pending());
}

TEST(Timeout, NulloptNeverFires) {
  green::Timeout none(std::nullopt);
  EXPECT_FALSE(none.pending());
  green::sleep(0.001);
}

TEST(Timeout, RejectsNegative) { EXPECT_THROW(green::Timeout(-1.0), std::invalid_argument); }

TEST(Timeout, WithTimeoutReturnsOrThrows) {
  EXPECT_EQ(green::with_timeout(1.0, [](int x) { return x * 2; }, 21), 42);
  EXPECT_THROW(green::with_timeout(0.01, [] { green::sleep(10); }), green::TimeoutError);
}

TEST(Timeout, AppliesInsideSpawnedGreenletsAndJoinSeesTheError) {
  auto g = green::spawn([] {
    green::Timeout t(0.01);
    green::Event never;
    never.wait();
  });
  g.join();
  EXPECT_THROW(g.get(), green::TimeoutError);
}

TEST(Timeout, DoesNotSwallowAKill) {
  green::Event started;
  auto g = green::spawn([&] {
    green::Timeout t(0.001);
    started.set();
    try {
      green::sleep(10);
    } catch (const green::TimeoutError&) {
      green::sleep(10);  // keeps running after its timeout
    }
  });
  started.wait();
  green::sleep(0.01);
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_THROW(g.get(), green::GreenletExit);
}

}  // namespace

namespace {
// The timer fires while the greenlet is not at a switch point (here: the loop is run by
// hand, as the hub does between a wake-up and the resume): the error is pending, not yet
// delivered. Leaving the scope must drop it, or it would surface at a later switch point,
// outside the scope that set it.
TEST(Timeout, AnEndedScopeDropsItsUndeliveredError) {
  auto g = green::spawn([] {
    {
      green::Timeout timeout(0.001);
      const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
      while (std::chrono::steady_clock::now() < end) {
      }
      ev_run(green::get_hub().loop(), EVRUN_NOWAIT);  // the timer fires: error pending
      EXPECT_FALSE(timeout.pending());
    }
    green::sleep(0);  // outside the scope: must not throw
    return true;
  });
  EXPECT_TRUE(g.get(5.0));
}
}  // namespace
