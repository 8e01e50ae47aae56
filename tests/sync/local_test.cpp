#include <gtest/gtest.h>
#include <green/green.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sync/sync_test_util.hpp"

namespace {

using sync_test::settle;

// Counts live instances, to see when values are destroyed.
struct Tracked {
  static inline int alive = 0;
  int value = 0;
  Tracked() { ++alive; }
  explicit Tracked(int v) : value(v) { ++alive; }
  Tracked(const Tracked& o) : value(o.value) { ++alive; }
  Tracked(Tracked&& o) noexcept : value(o.value) { ++alive; }
  Tracked& operator=(const Tracked&) = default;
  Tracked& operator=(Tracked&&) = default;
  ~Tracked() { --alive; }
};

TEST(Local, EachGreenletHasItsOwnValue) {
  green::Local<int> local;
  local.get() = 7;  // the main greenlet's
  std::vector<green::Greenlet<int>> gs;
  for (int i = 0; i < 10; ++i)
    gs.push_back(green::spawn([&, i] {
      EXPECT_EQ(local.get(), 0);  // fresh, default-constructed
      *local = i;
      green::sleep(0);  // the others write theirs meanwhile
      return *local;
    }));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(gs[i].get(), i);
  EXPECT_EQ(*local, 7);
}

TEST(Local, InitFunctionMakesEachFirstValue) {
  int calls = 0;
  green::Local<std::string> local([&] {
    ++calls;
    return std::string("fresh");
  });
  EXPECT_EQ(local->size(), 5u);
  EXPECT_EQ(green::spawn([&] { return local.get(); }).get(), "fresh");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*local, "fresh");
  EXPECT_EQ(calls, 2);
}

TEST(Local, ValuesDieWithTheirGreenletBeforeJoinReturns) {
  Tracked::alive = 0;
  green::Local<Tracked> local;
  auto g = green::spawn([&] {
    local->value = 1;
    EXPECT_EQ(Tracked::alive, 1);
  });
  g.join();
  EXPECT_EQ(Tracked::alive, 0);
}

TEST(Local, KilledGreenletsValuesAreDestroyed) {
  Tracked::alive = 0;
  green::Local<Tracked> local;
  auto g = green::spawn([&] {
    local.get();
    green::sleep(10);
  });
  settle();
  EXPECT_EQ(Tracked::alive, 1);
  g.kill();
  EXPECT_EQ(Tracked::alive, 0);
}

TEST(Local, DestroyingTheLocalDestroysEveryGreenletsValue) {
  Tracked::alive = 0;
  green::Event go;
  auto local = std::make_unique<green::Local<Tracked>>();
  auto* other = new green::Local<int>;
  std::vector<green::GreenletRef> gs;
  for (int i = 0; i < 5; ++i)
    gs.push_back(green::spawn([&] {
      local->get();
      **other = 1;
      go.wait();
      green::Local<int> later;  // a new Local after the old one's death sweeps its slot
      *later = 2;
    }));
  settle();
  EXPECT_EQ(Tracked::alive, 5);
  local.reset();
  EXPECT_EQ(Tracked::alive, 0);
  delete other;
  go.set();
  green::joinall(gs);
}

TEST(Local, SetHasValueAndReset) {
  Tracked::alive = 0;
  green::Local<Tracked> local;
  EXPECT_FALSE(local.has_value());
  local.set(Tracked(5));
  EXPECT_TRUE(local.has_value());
  EXPECT_EQ(local->value, 5);
  local.set(Tracked(6));
  EXPECT_EQ(local->value, 6);
  EXPECT_EQ(Tracked::alive, 1);
  local.reset();
  EXPECT_FALSE(local.has_value());
  EXPECT_EQ(Tracked::alive, 0);
  local.reset();  // nothing to do
  EXPECT_EQ(local->value, 0);
}

TEST(Local, ManyGreenletsAndLocals) {
  Tracked::alive = 0;
  std::vector<std::unique_ptr<green::Local<Tracked>>> locals;
  for (int i = 0; i < 8; ++i) locals.push_back(std::make_unique<green::Local<Tracked>>());
  std::vector<green::GreenletRef> gs;
  for (int i = 0; i < 1000; ++i)
    gs.push_back(green::spawn([&, i] {
      for (auto& l : locals) (*l)->value = i;
      green::sleep(0);
      for (auto& l : locals) EXPECT_EQ((*l)->value, i);
    }));
  green::joinall(gs);
  EXPECT_EQ(Tracked::alive, 0);
}

TEST(Local, ValuesOnOtherThreadsAreSeparate) {
  green::Local<int> local;
  *local = 1;
  int seen = -1;
  std::thread other([&] {
    seen = *local;  // that thread's main greenlet: a fresh value
    *local = 2;
  });
  other.join();
  EXPECT_EQ(seen, 0);
  EXPECT_EQ(*local, 1);
}

}  // namespace
