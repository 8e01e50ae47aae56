#include <gtest/gtest.h>
#include <green/green.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "sync/sync_test_util.hpp"

namespace {

using sync_test::settle;

TEST(Timer, CallsTheFunctionAfterTheInterval) {
  green::AsyncResult<int> fired;
  const auto start = std::chrono::steady_clock::now();
  green::Timer timer(0.02, [&](int v) { fired.set(v); }, 42);
  EXPECT_DOUBLE_EQ(timer.interval(), 0.02);
  EXPECT_FALSE(timer.is_alive());
  timer.start();
  EXPECT_TRUE(timer.is_alive());
  EXPECT_EQ(fired.get(5), 42);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(19));  // not early
  EXPECT_TRUE(timer.join(5));
  EXPECT_FALSE(timer.is_alive());
}

TEST(Timer, CancelBeforeItFiresStopsIt) {
  bool fired = false;
  green::Timer timer(0.05, [&] { fired = true; });
  timer.start();
  settle();
  timer.cancel();
  EXPECT_TRUE(timer.join(5));  // ends at once, without waiting out the interval
  EXPECT_FALSE(fired);
  timer.cancel();  // harmless afterwards
}

TEST(Timer, CancelBeforeStart) {
  bool fired = false;
  green::Timer timer(0, [&] { fired = true; });
  timer.cancel();
  timer.start();
  EXPECT_TRUE(timer.join(5));
  EXPECT_FALSE(fired);
}

TEST(Timer, CancelFromAnotherThread) {
  bool fired = false;
  green::Timer timer(30, [&] { fired = true; });
  timer.start();
  settle();
  std::thread other([&] { timer.cancel(); });
  EXPECT_TRUE(timer.join(5));
  other.join();
  EXPECT_FALSE(fired);
}

TEST(Timer, FiresEvenWhenTheObjectIsGone) {
  green::Event fired;
  green::Timer(0, [&] { fired.set(); }).start();
  EXPECT_TRUE(fired.wait(5));
}

TEST(Timer, BadUseThrows) {
  EXPECT_THROW(green::Timer(-1, [] {}), std::invalid_argument);
  EXPECT_THROW(green::Timer(1, std::function<void()>{}), std::invalid_argument);
  green::Timer timer(0, [] {});
  timer.start();
  EXPECT_THROW(timer.start(), std::logic_error);
  timer.join();
}

TEST(Timer, TheFunctionsExceptionIsPrintedEvenWhenJoined) {
  testing::internal::CaptureStderr();
  green::Timer timer(0, [] { throw std::runtime_error("timer body failed"); });
  timer.start();
  EXPECT_TRUE(timer.join(5));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("timer body failed"), std::string::npos) << err;
}

}  // namespace
