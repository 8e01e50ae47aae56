#include <green/green.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Writes `bytes` of stack and keeps the compiler from dropping the frame.
__attribute__((noinline)) int use_stack(std::size_t bytes) {
  volatile char frame[1024];
  std::memset(const_cast<char*>(frame), 1, sizeof frame);
  if (bytes <= sizeof frame) return frame[0];
  return use_stack(bytes - sizeof frame) + frame[1];
}

struct DeepTask {
  int operator()() const {
    green::sleep(0);
    return use_stack(48 * 1024);
  }
};

struct ShallowTask {
  void operator()() const { green::sleep(0.001); }
};

// Runs in a child process: the census is switched on by the environment at first use.
void census_child() {
  std::vector<green::GreenletRef> gs;
  for (int i = 0; i < 10; ++i) gs.push_back(green::spawn(DeepTask{}));
  for (int i = 0; i < 10; ++i)  // small-stack mode: 16 KiB is enough for this one
    gs.push_back(green::spawn(green::SpawnOptions{.name = "", .stack_size = 16 * 1024}, ShallowTask{}));
  green::joinall(gs, 10.0, true);
  bool ok = green::stack_census_enabled();
  bool deep_seen = false, shallow_seen = false;
  for (const auto& usage : green::stack_census()) {
    if (usage.site.find("DeepTask") != std::string::npos) {
      deep_seen = usage.greenlets == 10 && usage.max_used > 48 * 1024 && usage.max_used < usage.stack_size;
    } else if (usage.site.find("ShallowTask") != std::string::npos) {
      shallow_seen = usage.greenlets == 10 && usage.max_used > 0 && usage.max_used < 16 * 1024 &&
                     usage.stack_size == 16 * 1024;
    }
  }
  std::exit(ok && deep_seen && shallow_seen ? 0 : 1);
}

TEST(StackCensusDeathTest, MeasuresEachSpawnSiteAndPrintsAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ::setenv("GREEN_STACK_CENSUS", "1", 1);
  EXPECT_EXIT(census_child(), testing::ExitedWithCode(0), "stack census.*\\n.*DeepTask");
  ::unsetenv("GREEN_STACK_CENSUS");
}

TEST(StackCensus, IsOffAndEmptyByDefault) {
  if (std::getenv("GREEN_STACK_CENSUS") != nullptr) GTEST_SKIP() << "GREEN_STACK_CENSUS is set";
  green::spawn([] {}).join();
  EXPECT_FALSE(green::stack_census_enabled());
  EXPECT_TRUE(green::stack_census().empty());
}

}  // namespace
