#include <gtest/gtest.h>
#include <green/green.hpp>

TEST(Smoke, SpawnJoin) {
  auto g = green::spawn([](int a, int b) { return a + b; }, 2, 3);
  EXPECT_EQ(g.get(), 5);
}
