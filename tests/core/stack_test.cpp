#include <green/green.hpp>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

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

namespace {

std::size_t count_mappings() {
  std::FILE* maps = std::fopen("/proc/self/maps", "r");
  std::size_t lines = 0;
  for (int c; (c = std::fgetc(maps)) != EOF;) lines += c == '\n';
  std::fclose(maps);
  return lines;
}

TEST(Stacks, HundredThousandGuardedStacksPastTheMprotectCap) {
  // An mprotect guard splits a mapping and vm.max_map_count (65530) caps a process near
  // 32k guarded stacks; MADV_GUARD_INSTALL guards cost no mapping.
  constexpr int kCount = 100000;
  const std::size_t before = count_mappings();
  green::Event go;
  std::vector<green::GreenletRef> gs;
  gs.reserve(kCount);
  for (int i = 0; i < kCount; ++i)
    gs.push_back(green::spawn(green::SpawnOptions{.name = "", .stack_size = 16 * 1024}, [&] { go.wait(); }));
  green::sleep(0);  // all of them started: each holds a guarded stack now
  const std::size_t during = count_mappings();
  go.set();
  green::joinall(gs);
  if (during - before > 2 * kCount / 3) GTEST_SKIP() << "this kernel has no MADV_GUARD_INSTALL (mprotect guards)";
  EXPECT_LT(during - before, 2000u) << "guard pages should not cost a mapping each";
}

TEST(StacksDeathTest, MprotectGuardsStopBeforeTheMappingLimitWithAClearError) {
  // Where the kernel has no MADV_GUARD_INSTALL (forced here), guarded stacks stop at a
  // budget below vm.max_map_count: spawning fails with advice, and the process can still
  // map memory afterwards.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ::setenv("GREEN_GUARD_MODE", "mprotect", 1);
  EXPECT_EXIT(
      {
        green::Event go;
        std::vector<green::GreenletRef> gs;
        std::string error;
        while (error.empty() && gs.size() < 200000) {
          try {  // spawn refuses once the pool knows no stack can be had
            for (int i = 0; i < 1000; ++i)
              gs.push_back(green::spawn(green::SpawnOptions{.name = "", .stack_size = 16 * 1024}, [&] { go.wait(); }));
          } catch (const std::system_error& failure) {
            error = failure.what();
            break;
          }
          green::sleep(0);
          if (auto e = gs.back().exception()) try {
              std::rethrow_exception(e);
            } catch (const std::system_error& failure) {
              error = failure.what();
            }
        }
        void* more = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        const bool advised = error.find("GREEN_GUARD_PAGES=0") != std::string::npos &&
                             error.find("vm.max_map_count") != std::string::npos;
        std::fprintf(stderr, "%zu spawned; %s\n", gs.size(), error.c_str());
        std::_Exit(advised && gs.size() > 10000 && more != MAP_FAILED ? 0 : 1);
      },
      testing::ExitedWithCode(0), "vm.max_map_count");
  ::unsetenv("GREEN_GUARD_MODE");
}

TEST(StacksDeathTest, DefaultSizeComesFromGreenStackSize) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ::setenv("GREEN_STACK_SIZE", "96K", 1);
  EXPECT_EXIT(
      {
        green::RawGreenlet g([] {});
        std::exit(g.stack_size() == 96 * 1024 ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
  ::unsetenv("GREEN_STACK_SIZE");
}

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer scans the stack it runs on: after std::exit from a greenlet, what main's
// frames own looks leaked. The exit itself is what this test checks.
bool exiting_from_greenlet = false;
}  // namespace
extern "C" int __lsan_is_turned_off() { return exiting_from_greenlet ? 1 : 0; }
namespace {
#endif

TEST(StacksDeathTest, ExitFromInsideAGreenletExitsCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        auto sleeper = green::spawn([] { green::sleep(10); });
        green::spawn([] {
#if defined(__SANITIZE_ADDRESS__)
          exiting_from_greenlet = true;
#endif
          std::exit(3);
        });
        sleeper.join();
      },
      testing::ExitedWithCode(3), "");
}

}  // namespace
