#include <gtest/gtest.h>
#include <green/green.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

void wait_until(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "condition never held";
    green::sleep(0.0005);
  }
}

TEST(Channel, PutWaitsUntilAGetterTakesTheItem) {
  green::Channel<std::string> ch;
  bool put_returned = false;
  auto putter = green::spawn([&] {
    ch.put("x");
    put_returned = true;
  });
  wait_until([&] { return ch.waiting_putters() == 1; });
  EXPECT_FALSE(put_returned);
  EXPECT_EQ(ch.balance(), 1);
  EXPECT_EQ(ch.qsize(), 0u);
  EXPECT_TRUE(ch.full());
  EXPECT_EQ(ch.get(), "x");
  putter.get(5);
  EXPECT_TRUE(put_returned);
  EXPECT_EQ(ch.balance(), 0);
}

TEST(Channel, NowaitNeedsAWaitingPartner) {
  green::Channel<int> ch;
  try {
    ch.put_nowait(1);
    FAIL() << "no exception";
  } catch (const green::QueueFull& e) {
    EXPECT_STREQ(e.what(), "green::Channel.put_nowait: no getter is waiting");
  }
  try {
    ch.get_nowait();
    FAIL() << "no exception";
  } catch (const green::QueueEmpty& e) {
    EXPECT_STREQ(e.what(), "green::Channel.get_nowait: no putter is waiting");
  }
  auto getter = green::spawn([&] { return ch.get(); });
  wait_until([&] { return ch.waiting_getters() == 1; });
  EXPECT_EQ(ch.balance(), -1);
  ch.put_nowait(5);
  EXPECT_EQ(getter.get(5), 5);
}

TEST(Channel, PutTimesOutWithoutAGetterAndDeliversNothing) {
  green::Channel<int> ch;
  EXPECT_THROW(ch.put(1, true, 0.01), green::QueueFull);
  EXPECT_EQ(ch.waiting_putters(), 0u);
  EXPECT_THROW(ch.get(true, 0.01), green::QueueEmpty);
  EXPECT_THROW(ch.get_nowait(), green::QueueEmpty);
}

TEST(Channel, PuttersAndGettersInFifoOrder) {
  green::Channel<int> ch;
  std::vector<green::GreenletRef> putters;
  for (int i = 0; i < 5; ++i) {
    putters.push_back(green::spawn([&, i] { ch.put(i); }));
    wait_until([&] { return ch.waiting_putters() == static_cast<std::size_t>(i + 1); });
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ch.get(), i);
  green::joinall(putters, 5);

  std::vector<int> got(5, -1);
  std::vector<green::GreenletRef> getters;
  for (int i = 0; i < 5; ++i) {
    getters.push_back(green::spawn([&, i] { got[i] = ch.get(); }));
    wait_until([&] { return ch.waiting_getters() == static_cast<std::size_t>(i + 1); });
  }
  for (int i = 0; i < 5; ++i) ch.put(i);
  green::joinall(getters, 5);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Channel, ItemHandedToAKilledGetterGoesToTheNextOne) {
  green::Channel<int> ch;
  auto first = green::spawn([&] { return ch.get(); });
  wait_until([&] { return ch.waiting_getters() == 1; });
  auto second = green::spawn([&] { return ch.get(); });
  wait_until([&] { return ch.waiting_getters() == 2; });
  ch.put(1);
  first.kill(false);
  EXPECT_EQ(second.get(5), 1);
  EXPECT_TRUE(first.join(5));
}

TEST(Channel, ItemHandedToAKilledGetterIsKeptForTheNextGet) {
  green::Channel<int> ch;
  auto getter = green::spawn([&] { return ch.get(); });
  wait_until([&] { return ch.waiting_getters() == 1; });
  ch.put(1);
  getter.kill(false);
  EXPECT_TRUE(getter.join(5));
  EXPECT_EQ(ch.qsize(), 1u);
  EXPECT_EQ(ch.get_nowait(), 1);
  EXPECT_EQ(ch.qsize(), 0u);
}

TEST(Channel, KilledPutterDeliversNothing) {
  green::Channel<int> ch;
  auto putter = green::spawn([&] { ch.put(1); });
  wait_until([&] { return ch.waiting_putters() == 1; });
  putter.kill(false);
  EXPECT_THROW(ch.get_nowait(), green::QueueEmpty);  // the putter about to die is skipped
  EXPECT_TRUE(putter.join(5));
  EXPECT_EQ(ch.waiting_putters(), 0u);
}

TEST(Channel, CloseWakesPuttersAndEndsRangeFor) {
  green::Channel<int> ch;
  auto putter = green::spawn([&] { ch.put(1); });
  wait_until([&] { return ch.waiting_putters() == 1; });
  ch.close();
  EXPECT_THROW(putter.get(5), green::QueueClosed);
  EXPECT_THROW(ch.put(2), green::QueueClosed);
  EXPECT_THROW(ch.get(), green::QueueClosed);

  green::Channel<int> stream;
  auto producer = green::spawn([&] {
    for (int i = 1; i <= 50; ++i) stream.put(i);
    stream.close();
  });
  int sum = 0;
  for (auto& item : stream) sum += item;
  EXPECT_EQ(sum, 1275);
  producer.get(5);
}

TEST(Channel, HandOffAcrossOsThreads) {
  green::Channel<int> ch;
  std::atomic<long> sum{0};
  std::thread other([&] {
    for (auto& item : ch) sum += item;
  });
  for (int i = 0; i < 1000; ++i) ch.put(i, true, 10);
  ch.close();
  other.join();
  EXPECT_EQ(sum.load(), 999L * 1000 / 2);
}

}  // namespace
