#include <gtest/gtest.h>
#include <green/green.hpp>

#include <cstring>
#include <string>

#include "core/stack_pool.hpp"

namespace {

TEST(StackPool, ReleasedStacksAreReused) {
  green::detail::StackPool pool;
  auto a = pool.acquire(64 * 1024);
  EXPECT_EQ(a.size, 64u * 1024);
  EXPECT_EQ(a.guard, green::detail::page_size());
  pool.release(a);
  auto b = pool.acquire(64 * 1024);
  EXPECT_EQ(a.low, b.low);  // warm reuse, no new mapping
  pool.release(b);
}

TEST(StackPool, SizesRoundUpToPagesWithAFloor) {
  green::detail::StackPool pool;
  auto s = pool.acquire(20000);
  EXPECT_EQ(s.size % green::detail::page_size(), 0u);
  EXPECT_GE(s.size, 20000u);
  auto tiny = pool.acquire(100);
  EXPECT_GE(tiny.size, 16u * 1024);
  pool.release(s);
  pool.release(tiny);
}

TEST(StackPool, StacksAreWritableToTheTop) {
  green::detail::StackPool pool;
  auto s = pool.acquire(32 * 1024);
  std::memset(s.low + s.guard, 0xab, s.size);
  pool.release(s);
}

volatile bool keep_going = true;

int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return keep_going ? depth + recurse(depth + 1) + frame[0] : 0;
}

TEST(StackOverflowDeathTest, PrintsTheGreenletNameAndStackSize) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reports stack overflows itself";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto g = green::spawn(green::SpawnOptions{.name = "deep-recursion", .stack_size = 64 * 1024},
                              [] { return recurse(0); });
        g.join();
      },
      "green: stack overflow in greenlet 'deep-recursion' \\(stack 64 KiB\\)");
}

TEST(Stacks, TenThousandConcurrentGreenletsWithSmallStacks) {
  std::vector<green::GreenletRef> gs;
  int done = 0;
  for (int i = 0; i < 10000; ++i)
    gs.push_back(green::spawn(green::SpawnOptions{.name = "small", .stack_size = 16 * 1024}, [&] {
      green::sleep(0.001);
      ++done;
    }));
  green::joinall(gs);
  EXPECT_EQ(done, 10000);
}

}  // namespace
