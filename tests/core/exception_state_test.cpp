// The C++ runtime keeps caught exceptions per OS thread; green keeps them per greenlet.
#include <gtest/gtest.h>
#include <green/green.hpp>

#include <exception>
#include <stdexcept>
#include <string>

namespace {

std::string rethrow_after_yield(const std::string& mine) {
  try {
    throw std::runtime_error(mine);
  } catch (...) {
    green::sleep(0);  // the other greenlet enters its own catch block meanwhile
    try {
      throw;  // must rethrow *this* greenlet's exception
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  }
}

TEST(ExceptionState, TwoGreenletsRethrowTheirOwnAfterYielding) {
  auto a = green::spawn(rethrow_after_yield, std::string("from a"));
  auto b = green::spawn(rethrow_after_yield, std::string("from b"));
  EXPECT_EQ(a.get(), "from a");
  EXPECT_EQ(b.get(), "from b");
}

TEST(ExceptionState, UncaughtCountIsPerGreenlet) {
  struct Probe {
    int* seen;
    ~Probe() {
      // Inside unwinding: this greenlet has one uncaught exception in flight...
      *seen = std::uncaught_exceptions();
      green::sleep(0);  // ...and switching away and back must not change that.
      *seen = *seen * 10 + std::uncaught_exceptions();
    }
  };
  int seen = -1;
  int other_seen = -1;
  auto a = green::spawn([&] {
    try {
      Probe probe{&seen};
      throw std::runtime_error("unwinding");
    } catch (const std::runtime_error&) {
    }
  });
  auto b = green::spawn([&] { other_seen = std::uncaught_exceptions(); });
  green::joinall({a, b});
  EXPECT_EQ(seen, 11);
  EXPECT_EQ(other_seen, 0);
}

TEST(ExceptionState, CurrentExceptionSurvivesSwitches) {
  auto g = green::spawn([] {
    try {
      throw std::logic_error("kept");
    } catch (...) {
      green::sleep(0.001);
      std::exception_ptr p = std::current_exception();
      try {
        std::rethrow_exception(p);
      } catch (const std::logic_error& e) {
        return std::string(e.what());
      }
    }
    return std::string();
  });
  auto noise = green::spawn([] {
    for (int i = 0; i < 5; ++i) {
      try {
        throw 42;
      } catch (int) {
        green::sleep(0);
      }
    }
  });
  EXPECT_EQ(g.get(), "kept");
  noise.get();
}

}  // namespace
