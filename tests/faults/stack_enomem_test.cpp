// ENOMEM from the stack allocator: spawn throws a clear std::system_error (naming the stack
// size and what to do) instead of crashing, nothing is left half-spawned, and the hub keeps
// working. Three real ways the kernel refuses: a stack larger than the address space, an
// address-space limit (RLIMIT_AS, in a forked child), and the mprotect guard budget that
// protects vm.max_map_count (GREEN_GUARD_MODE=mprotect, in a child process).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "faults_util.hpp"

namespace green::faults {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

void expect_clear_error(const std::system_error& e, const std::string& size) {
  const std::string what = e.what();
  EXPECT_EQ(e.code().value(), ENOMEM) << what;
  EXPECT_NE(what.find("greenlet stack of " + size), std::string::npos) << what;
  EXPECT_NE(what.find("GREEN_STACK_SIZE"), std::string::npos) << what;
}

// The hub still runs greenlets normally.
void expect_hub_works() {
  auto g = spawn([] {
    green::sleep(0.001);
    return 42;
  });
  EXPECT_EQ(g.get(5.0), 42);
}

TEST(StackEnomem, LargerThanTheAddressSpace) {
  SpawnOptions huge;
  huge.stack_size = std::size_t{1} << 50;  // 1 PiB: beyond x86-64's 128 TiB of user space
  bool ran = false;
  try {
    spawn(huge, [&] { ran = true; });
    ADD_FAILURE() << "spawn of a 1 PiB stack succeeded";
  } catch (const std::system_error& e) {
    expect_clear_error(e, std::to_string((std::size_t{1} << 50) >> 10) + " KiB");
  }
  huge.stack_size = ~std::size_t{0} - 100;  // rounding up to pages would wrap
  EXPECT_THROW(spawn(huge, [&] { ran = true; }), std::system_error);
  // A Pool gives the slot back when its spawn throws.
  Pool pool(1);
  huge.stack_size = std::size_t{1} << 50;
  EXPECT_THROW(pool.spawn(huge, [&] { ran = true; }), std::system_error);
  EXPECT_EQ(pool.free_count(), 1u);
  EXPECT_EQ(pool.spawn([] { return 7; }).get(5.0), 7);
  green::sleep(0.01);
  EXPECT_FALSE(ran);
  expect_hub_works();
}

// A forked child lowers RLIMIT_AS just above what it uses, then spawns greenlets that stay
// alive until spawn refuses. Not under sanitizers: their shadow memory needs terabytes of
// address space, so no useful RLIMIT_AS can be set.
TEST(StackEnomem, AddressSpaceLimit) {
  if (kSanitized) GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot be lowered";
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t pid = green::fork();
  if (pid == 0) {
    ::close(report[0]);
    ::alarm(30);
    auto fail = [&](const std::string& why) {
      const std::string line = why + "\n";
      (void)!::write(report[1], line.data(), line.size());
      ::_exit(1);
    };
    std::size_t vm_kib = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmSize:", 0) == 0) vm_kib = std::stoul(line.substr(7));
    if (vm_kib == 0) fail("no VmSize");
    const rlim_t limit = (vm_kib + 48 * 1024) * 1024;  // 48 MiB to spare
    const rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) fail("setrlimit failed");
    Event release;
    std::vector<GreenletRef> alive;
    std::string error;
    try {
      for (int i = 0; i < 100000; ++i) {
        alive.push_back(spawn([&] { release.wait(); }));
        green::sleep(0);  // let it start (and take its stack)
      }
    } catch (const std::system_error& e) {
      error = e.what();
      if (e.code().value() != ENOMEM) fail("wrong errno: " + error);
    } catch (const std::bad_alloc&) {
      fail("std::bad_alloc instead of the stack pool's error");
    }
    if (error.empty()) fail("100000 greenlets fit under the limit");
    if (error.find("greenlet stack of 256 KiB") == std::string::npos || error.find("RLIMIT_AS") == std::string::npos)
      fail("unclear error: " + error);
    if (alive.size() < 10) fail("only " + std::to_string(alive.size()) + " greenlets before the error");
    release.set();
    if (joinall(alive, 10.0).size() != alive.size()) fail("the greenlets did not finish");
    for (auto& g : alive)
      if (!g.successful()) fail("a greenlet failed");
    // Their stacks went back to the pool: spawning works again.
    std::vector<GreenletRef> again;
    for (int i = 0; i < 10; ++i) again.push_back(spawn([] { green::sleep(0.001); }));
    if (joinall(again, 10.0).size() != again.size()) fail("no greenlet runs after the error");
    const std::string ok = "ok " + std::to_string(alive.size()) + " greenlets, then: " + error + "\n";
    (void)!::write(report[1], ok.data(), ok.size());
    ::_exit(0);
  }
  ::close(report[1]);
  std::string said;
  char buf[512];
  for (;;) {
    ASSERT_TRUE(wait_read(report[0], 60.0));
    const ssize_t n = ::read(report[0], buf, sizeof(buf));
    if (n <= 0) break;
    said.append(buf, static_cast<std::size_t>(n));
  }
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status << ": " << said;
  EXPECT_EQ(said.rfind("ok ", 0), 0u) << said;
  std::printf("%s", said.c_str());
  expect_hub_works();
}

// The mprotect guard budget (three quarters of vm.max_map_count, two mappings a stack):
// run this binary again with GREEN_GUARD_MODE=mprotect and small stacks, and let the child
// spawn until spawn refuses with the budget's error.
TEST(StackEnomem, MprotectGuardBudget) {
  Popen child({"/proc/self/exe", "--gtest_also_run_disabled_tests",
               "--gtest_filter=StackEnomemChild.DISABLED_MprotectGuardBudget"},
              PopenOptions{Stdio::devnull, Stdio::pipe, Stdio::to_stdout, "",
                           std::vector<std::string>{"GREEN_GUARD_MODE=mprotect", "GREEN_STACK_SIZE=16K",
                                                    "GREEN_FAULTS_CHILD=1", "ASAN_OPTIONS=detect_leaks=0"}});
  auto [out, err] = child.communicate({}, 120.0);
  EXPECT_EQ(child.returncode(), 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
}

// Run only by StackEnomem.MprotectGuardBudget, in a child process.
TEST(StackEnomemChild, DISABLED_MprotectGuardBudget) {
  ASSERT_NE(std::getenv("GREEN_FAULTS_CHILD"), nullptr) << "run by StackEnomem.MprotectGuardBudget";
  Event release;
  std::vector<GreenletRef> alive;
  std::string error;
  try {
    for (int i = 0; i < 200000; ++i) {
      alive.push_back(spawn([&] { release.wait(); }));
      green::sleep(0);
    }
  } catch (const std::system_error& e) {
    error = e.what();
    EXPECT_EQ(e.code().value(), ENOMEM);
  }
  EXPECT_NE(error.find("vm.max_map_count"), std::string::npos) << error;
  EXPECT_NE(error.find("GREEN_GUARD_PAGES=0"), std::string::npos) << error;
  EXPECT_GT(alive.size(), 1000u);
  std::printf("%zu guarded greenlets before: %s\n", alive.size(), error.c_str());
  release.set();
  EXPECT_EQ(joinall(alive, 30.0).size(), alive.size());
  alive.clear();
  expect_hub_works();
}

}  // namespace
}  // namespace green::faults
