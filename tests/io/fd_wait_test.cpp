#include "green/fd_wait.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>
#include <memory>
#include <thread>

#include "green/event.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/timeout.hpp"

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

// Yields until `pred` holds (bounded), so tests wait for events, not for time.
template <class Pred>
void yield_until(Pred pred) {
  bool held = false;
  for (int i = 0; i < 10000 && !(held = pred()); ++i) green::sleep(0.0005);
  ASSERT_TRUE(held);
}

TEST(FdWait, ReadReturnsWhenDataArrives) {
  Pipe p;
  auto writer = green::spawn([&] { ASSERT_EQ(::write(p.w, "x", 1), 1); });
  EXPECT_TRUE(green::wait_read(p.r, 5.0));
  writer.get();
}

TEST(FdWait, ReadTimesOut) {
  Pipe p;
  EXPECT_FALSE(green::wait_read(p.r, 0.02));
  EXPECT_FALSE(green::wait_read(p.r, 0.0));
}

TEST(FdWait, WriteReadyOnEmptyPipe) {
  Pipe p;
  EXPECT_TRUE(green::wait_write(p.w, 1.0));
  auto status = green::wait_fd(p.w, green::kReadable | green::kWritable, 1.0);
  EXPECT_EQ(status.result, green::WaitResult::ready);
  EXPECT_EQ(status.revents, green::kWritable);
}

TEST(FdWait, CancelWaitWakesTheWaiterWithAClearError) {
  Pipe p;
  auto reader = green::spawn([&] { green::wait_read(p.r); });
  std::size_t woken = 0;
  yield_until([&] { return (woken = green::cancel_wait(p.r)) == 1; });
  try {
    reader.get(5.0);
    FAIL() << "expected system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EBADF);
    EXPECT_NE(std::string(e.what()).find("closed in another greenlet"), std::string::npos) << e.what();
  }
  EXPECT_EQ(green::cancel_wait(p.r), 0u);
}

TEST(FdWait, CancelWaitFromAnotherThread) {
  Pipe p;
  std::atomic<bool> stop{false};
  std::thread canceller([&] {
    while (!stop.load() && green::cancel_wait(p.r, ECONNRESET) == 0) std::this_thread::yield();
  });
  auto status = green::wait_fd(p.r, green::kReadable, 10.0);
  stop = true;
  canceller.join();
  EXPECT_EQ(status.result, green::WaitResult::cancelled);
  EXPECT_EQ(status.error, ECONNRESET);
}

TEST(FdWait, TwoReadersOfOneFdIsAnError) {
  Pipe p;
  auto reader = green::spawn(green::SpawnOptions{"first-reader"}, [&] { green::wait_read(p.r, 5.0); });
  std::string message;
  green::sleep(0);  // the reader starts waiting
  yield_until([&] {
    try {
      green::wait_read(p.r, 0.0);
      return false;
    } catch (const std::logic_error& e) {
      message = e.what();
      return true;
    }
  });
  EXPECT_NE(message.find("first-reader"), std::string::npos) << message;
  EXPECT_NE(message.find("already waits to read"), std::string::npos) << message;
  // A writer on the same fd is no conflict, and a shared wait is never refused.
  EXPECT_EQ(green::wait_fd(p.r, green::kReadable, 0.0, false).result, green::WaitResult::timed_out);
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  reader.get(5.0);
}

TEST(FdWait, SharedWaitersAreAllWoken) {
  Pipe p;
  int ready = 0;
  auto a = green::spawn([&] { ready += green::wait_fd(p.r, green::kReadable, 5.0).result == green::WaitResult::ready; });
  auto b = green::spawn([&] { ready += green::wait_fd(p.r, green::kReadable, 5.0).result == green::WaitResult::ready; });
  green::sleep(0);
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  green::joinall({a, b});
  EXPECT_EQ(ready, 2);
}

TEST(FdWait, KilledWaiterLeavesTheFdFree) {
  Pipe p;
  auto reader = green::spawn([&] { green::wait_read(p.r); });
  green::sleep(0);
  reader.kill();
  EXPECT_FALSE(green::wait_read(p.r, 0.01));  // no "already waits" error
}

TEST(FdWait, TimeoutScopeInterruptsTheWait) {
  Pipe p;
  green::Timeout t(0.02);
  EXPECT_THROW(green::wait_read(p.r), green::TimeoutError);
}

TEST(FdWait, NoexceptFormDefersAKill) {
  Pipe p;
  green::WaitResult seen = green::WaitResult::ready;
  bool reached_next_call = false;
  auto g = green::spawn([&] {
    seen = green::wait_fd_noexcept(p.r, green::kReadable, {}).result;
    reached_next_call = true;
    green::sleep(0);  // the deferred kill is raised here
    ADD_FAILURE() << "kill was lost";
  });
  green::sleep(0);
  g.kill();
  EXPECT_EQ(seen, green::WaitResult::interrupted);
  EXPECT_TRUE(reached_next_call);
  EXPECT_FALSE(g.successful());
}

TEST(FdWait, NoexceptFormReportsBadUse) {
  EXPECT_EQ(green::wait_fd_noexcept(-1, green::kReadable, {}).error, EINVAL);
  EXPECT_EQ(green::wait_fd_noexcept(0, 0, {}).error, EINVAL);
}

TEST(FdWait, BadArgumentsThrow) {
  EXPECT_THROW(green::wait_read(-1), std::invalid_argument);
  Pipe p;
  EXPECT_THROW(green::wait_read(p.r, -1.0), std::invalid_argument);
  EXPECT_THROW(green::wait_fd(p.r, 4, {}), std::invalid_argument);
}

TEST(FdWait, ManagedFdNumberReusedAfterFdClosing) {
  // The same fd number, a new file: a managed wait must re-register it with the kernel.
  for (int round = 0; round < 3; ++round) {
    Pipe p;
    green::fd_opened(p.r);
    EXPECT_FALSE(green::wait_read(p.r, 0.001));
    auto writer = green::spawn([&] { ASSERT_EQ(::write(p.w, "x", 1), 1); });
    EXPECT_TRUE(green::wait_read(p.r, 5.0));
    writer.get();
    green::fd_closing(p.r);
  }
}

// A managed fd's watcher stays started between waits (parked). The tests below cover
// what a parked watcher must not change.

TEST(FdWait, ParkedWatcherKeepsNoHubFromLoopExit) {
  Pipe p;
  green::fd_opened(p.r);
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  EXPECT_TRUE(green::wait_read(p.r, 5.0));  // leaves the fd's watcher parked
  green::Event never;
  EXPECT_THROW(never.wait(), green::LoopExit);
  green::fd_closing(p.r);
}

TEST(FdWait, ManagedFdReadyWhileNobodyWaits) {
  Pipe p;
  green::fd_opened(p.r);
  char c;
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(::write(p.w, "x", 1), 1);
    green::sleep(0.005);  // the hub polls while the parked watcher's fd is readable
    EXPECT_TRUE(green::wait_read(p.r, 5.0));
    ASSERT_EQ(::read(p.r, &c, 1), 1);
    EXPECT_FALSE(green::wait_read(p.r, 0.01));  // nothing stale: not readable now
  }
  green::fd_closing(p.r);
}

TEST(FdWait, ManagedFdReadAndWriteWaitsTogether) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  green::fd_opened(sv[0]);
  for (int round = 0; round < 3; ++round) {
    auto reader = green::spawn([&] { return green::wait_read(sv[0], 5.0); });
    green::sleep(0);  // the reader now waits (the fd's own watcher serves it)
    EXPECT_TRUE(green::wait_write(sv[0], 5.0));  // same fd, other direction, meanwhile
    ASSERT_EQ(::write(sv[1], "x", 1), 1);
    EXPECT_TRUE(reader.get());
    char c;
    ASSERT_EQ(::read(sv[0], &c, 1), 1);
    EXPECT_TRUE(green::wait_write(sv[0], 5.0));  // alternate directions on one waiter
  }
  green::fd_closing(sv[0]);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(FdWait, ParkedWatcherOfAFdClosedOnAnotherThread) {
  auto first = std::make_unique<Pipe>();
  green::fd_opened(first->r);
  ASSERT_EQ(::write(first->w, "x", 1), 1);
  EXPECT_TRUE(green::wait_read(first->r, 5.0));
  const int number = first->r;
  std::thread([&] {
    green::fd_closing(first->r);
    ::close(first->r);
    first->r = -1;
  }).join();
  // The number is free again: a new managed file gets it, and waits on it work.
  Pipe second;
  EXPECT_EQ(second.r, number);
  green::fd_opened(second.r);
  EXPECT_FALSE(green::wait_read(second.r, 0.01));
  auto writer = green::spawn([&] { ASSERT_EQ(::write(second.w, "y", 1), 1); });
  EXPECT_TRUE(green::wait_read(second.r, 5.0));
  writer.get();
  green::fd_closing(second.r);
}

TEST(FdWait, ClosingAManagedFdUnderItsWaiterOnTheSameHub) {
  Pipe p;
  green::fd_opened(p.r);
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  EXPECT_TRUE(green::wait_read(p.r, 5.0));
  char c;
  ASSERT_EQ(::read(p.r, &c, 1), 1);
  auto waiter = green::spawn([&] { green::wait_read(p.r); });
  green::sleep(0);  // it waits on the parked watcher now
  EXPECT_EQ(green::fd_closing(p.r), 1u);
  EXPECT_THROW(waiter.get(), std::system_error);
  // Unmanaged now: waits on the same fd number take their own watcher.
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  EXPECT_TRUE(green::wait_read(p.r, 5.0));
}

}  // namespace
