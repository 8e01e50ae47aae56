#include <gtest/gtest.h>
#include <green/green.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace {

TEST(RawGreenlet, SeedExamplePrints12563478) {
  // python-greenlet's documentation example: two greenlets switching back and forth.
  std::string out;
  std::unique_ptr<green::RawGreenlet> gr1, gr2;
  gr1 = std::make_unique<green::RawGreenlet>([&] {
    out += "12 ";
    gr2->switch_to();
    out += "34 ";
  });
  gr2 = std::make_unique<green::RawGreenlet>([&] {
    out += "56 ";
    gr1->switch_to();
    out += "78 ";
  });
  gr1->switch_to();
  EXPECT_EQ(out, "12 56 34 ");
  EXPECT_TRUE(gr1->dead());
  EXPECT_FALSE(gr2->dead());
  gr2->switch_to();
  EXPECT_EQ(out, "12 56 34 78 ");
  EXPECT_TRUE(gr2->dead());
}

TEST(RawGreenlet, FinishingReturnsToParent) {
  green::RawGreenlet& main = green::RawGreenlet::current();
  int steps = 0;
  green::RawGreenlet child([&] { ++steps; });
  EXPECT_EQ(child.parent(), &main);
  EXPECT_FALSE(child.started());
  child.switch_to();
  EXPECT_EQ(steps, 1);
  EXPECT_TRUE(child.dead());
  EXPECT_EQ(&green::RawGreenlet::current(), &main);
}

TEST(RawGreenlet, CurrentInsideIsTheGreenlet) {
  green::RawGreenlet* seen = nullptr;
  green::RawGreenlet g([&] { seen = &green::RawGreenlet::current(); });
  g.switch_to();
  EXPECT_EQ(seen, &g);
}

TEST(RawGreenlet, ExceptionPropagatesToParent) {
  green::RawGreenlet g([] { throw std::runtime_error("boom in child"); });
  EXPECT_THROW(
      {
        try {
          g.switch_to();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "boom in child");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_TRUE(g.dead());
}

TEST(RawGreenlet, ThrowToDeliversAtSwitchPoint) {
  std::string caught;
  green::RawGreenlet& main = green::RawGreenlet::current();
  green::RawGreenlet g([&] {
    try {
      main.switch_to();
    } catch (const std::logic_error& e) {
      caught = e.what();
    }
  });
  g.switch_to();  // g is now suspended inside main.switch_to()
  g.throw_to(std::make_exception_ptr(std::logic_error("delivered")));
  EXPECT_EQ(caught, "delivered");
  EXPECT_TRUE(g.dead());
}

TEST(RawGreenlet, ThrowToUnstartedKillsWithoutRunning) {
  bool ran = false;
  green::RawGreenlet g([&] { ran = true; });
  g.throw_to(std::make_exception_ptr(green::GreenletExit()));
  EXPECT_TRUE(g.dead());
  EXPECT_FALSE(ran);
  green::RawGreenlet h([&] { ran = true; });
  EXPECT_THROW(h.throw_to(std::make_exception_ptr(std::runtime_error("x"))), std::runtime_error);
  EXPECT_FALSE(ran);
}

TEST(RawGreenlet, SwitchingToDeadGreenletThrows) {
  green::RawGreenlet g([] {});
  g.switch_to();
  ASSERT_TRUE(g.dead());
  try {
    g.switch_to();
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("dead greenlet"), std::string::npos) << e.what();
  }
  EXPECT_THROW(g.throw_to(std::make_exception_ptr(std::runtime_error("x"))), std::logic_error);
}

TEST(RawGreenlet, DestroyingUnfinishedUnwindsItsStack) {
  struct Flag {
    bool* destroyed;
    ~Flag() { *destroyed = true; }
  };
  bool destroyed = false;
  bool after = false;
  green::RawGreenlet& main = green::RawGreenlet::current();
  {
    green::RawGreenlet g([&] {
      Flag flag{&destroyed};
      main.switch_to();
      after = true;  // never reached: GreenletExit unwinds from the switch point
    });
    g.switch_to();
    EXPECT_FALSE(destroyed);
  }
  EXPECT_TRUE(destroyed);
  EXPECT_FALSE(after);
}

TEST(RawGreenlet, ParentChangesAndCyclesAreRejected) {
  green::RawGreenlet a([] {});
  green::RawGreenlet b([] {}, &a);
  EXPECT_EQ(b.parent(), &a);
  EXPECT_THROW(a.set_parent(b), std::invalid_argument);
  EXPECT_THROW(a.set_parent(a), std::invalid_argument);
  // A finished child whose parent has not started starts the parent.
  std::string order;
  green::RawGreenlet p([&] { order += "parent "; });
  green::RawGreenlet c([&] { order += "child "; }, &p);
  c.switch_to();
  EXPECT_EQ(order, "child parent ");
  EXPECT_TRUE(p.dead());
}

TEST(RawGreenlet, PerGreenletStackSize) {
  green::RawGreenlet g([] {}, nullptr, 64 * 1024);
  EXPECT_EQ(g.stack_size(), 64u * 1024);
  g.switch_to();
}

}  // namespace
