#include <gtest/gtest.h>
#include <green/green.hpp>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(Wait, AllCompletedWaitsForEveryObject) {
  std::vector<green::Greenlet<int>> gs;
  for (int i = 3; i >= 1; --i)
    gs.push_back(green::spawn([i] {
      green::sleep(0.002 * i);
      return i;
    }));
  auto [done, not_done] = green::wait(gs);
  EXPECT_EQ(done.size(), 3u);
  EXPECT_TRUE(not_done.empty());
  EXPECT_EQ(done[0].get(), 3);  // the order given, not completion
}

TEST(Wait, FirstCompletedReturnsAsSoonAsOneIsReady) {
  green::Event never;
  auto slow = green::spawn([&] { never.wait(); });
  auto fast = green::spawn([] { return; });
  auto result = green::wait({green::GreenletRef(slow), green::GreenletRef(fast)}, {}, green::FIRST_COMPLETED);
  ASSERT_EQ(result.done.size(), 1u);
  EXPECT_EQ(result.done[0], green::GreenletRef(fast));
  ASSERT_EQ(result.not_done.size(), 1u);
  EXPECT_EQ(result.not_done[0], green::GreenletRef(slow));
  slow.kill();
}

TEST(Wait, FirstExceptionStopsAtAFailure) {
  green::Event never;
  std::vector<green::AsyncResult<int>> results(3);
  auto setter = green::spawn([&] {
    results[1].set(1);
    green::sleep(0.002);
    results[2].set_exception(std::make_exception_ptr(CustomError("bad")));
  });
  auto [done, not_done] = green::wait(results, {}, green::FIRST_EXCEPTION);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_EQ(not_done.size(), 1u);
  EXPECT_FALSE(not_done[0].ready());
  setter.get();
}

TEST(Wait, FirstExceptionWithoutFailuresWaitsForAll) {
  std::vector<green::Greenlet<int>> gs;
  for (int i = 0; i < 4; ++i) gs.push_back(green::spawn([i] { return i; }));
  auto [done, not_done] = green::wait(gs, {}, green::FIRST_EXCEPTION);
  EXPECT_EQ(done.size(), 4u);
  EXPECT_TRUE(not_done.empty());
}

TEST(Wait, TimeoutReturnsWhatIsDone) {
  green::Event never;
  auto slow = green::spawn([&] { never.wait(); });
  auto fast = green::spawn([] {});
  auto [done, not_done] = green::wait(std::vector<green::GreenletRef>{slow, fast}, 0.02);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_EQ(not_done.size(), 1u);
  slow.kill();
}

TEST(Wait, ResultsSetFromAnotherThread) {
  std::vector<green::AsyncResult<int>> results(3);
  std::thread setter([&] {
    for (int i = 0; i < 3; ++i) results[i].set(i);
  });
  auto [done, not_done] = green::wait(results, 10.0);
  setter.join();
  EXPECT_EQ(done.size(), 3u);
}

TEST(AsCompleted, YieldsInCompletionOrder) {
  std::vector<green::Greenlet<int>> gs;
  for (int i : {3, 1, 2})
    gs.push_back(green::spawn([i] {
      green::sleep(0.003 * i);
      return i;
    }));
  std::vector<int> order;
  for (const auto& g : green::as_completed(gs)) order.push_back(g.get());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(AsCompleted, ThrowsTimeoutErrorWhenNotAllFinish) {
  green::Event never;
  auto slow = green::spawn([&] { never.wait(); });
  auto fast = green::spawn([] {});
  int seen = 0;
  EXPECT_THROW(
      {
        for (const auto& g : green::as_completed({green::GreenletRef(slow), green::GreenletRef(fast)}, 0.02)) {
          EXPECT_EQ(g, green::GreenletRef(fast));
          ++seen;
        }
      },
      green::TimeoutError);
  EXPECT_EQ(seen, 1);
  slow.kill();
}

TEST(AsCompleted, OverPoolResults) {
  green::Pool pool(2);
  std::vector<green::AsyncResult<int>> futures;
  for (int i : {4, 1, 3, 2})
    futures.push_back(pool.submit([i] {
      green::sleep(0.003 * i);
      return i;
    }));
  int sum = 0;
  for (const auto& f : green::as_completed(futures, 10.0)) sum += f.get();
  EXPECT_EQ(sum, 10);
}

TEST(AsCompleted, OverThreadPoolResults) {
  green::ThreadPool pool(3);
  std::vector<green::AsyncResult<int>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(pool.submit([i] { return i; }));
  int sum = 0;
  for (const auto& f : green::as_completed(futures, 10.0)) sum += f.get();
  EXPECT_EQ(sum, 45);
}

}  // namespace

namespace {

TEST(Wait, MixesGreenletsAndResultsOfDifferentTypes) {
  green::AsyncResult<std::string> text;
  auto number = green::spawn([] { return 4; });
  green::ThreadPool threads(1);
  auto on_thread = threads.submit([] { return 2.5; });
  std::vector<green::Waitable> objects{number, text, on_thread};
  auto setter = green::spawn([&] { text.set("done"); });
  auto [done, not_done] = green::wait(objects, 10.0);
  EXPECT_EQ(done.size(), 3u);
  ASSERT_NE(done[0].get_if<green::Greenlet<int>>(), nullptr);
  EXPECT_EQ(done[0].get_if<green::Greenlet<int>>()->get(), 4);
  EXPECT_EQ(done[1].get_if<green::AsyncResult<int>>(), nullptr);
  EXPECT_EQ(done[1].get_if<green::AsyncResult<std::string>>()->get(), "done");
  int seen = 0;
  for (const green::Waitable& w : green::as_completed(objects, 10.0)) {
    EXPECT_TRUE(w.ready());
    ++seen;
  }
  EXPECT_EQ(seen, 3);
  setter.get();
}

}  // namespace
