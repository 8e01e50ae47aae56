#include "green/run_info.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include <unistd.h>

#include "green/green.hpp"

namespace {

bool has(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern));
}

TEST(RunInfo, ListsEveryGreenletWithStateAsATree) {
  green::Event event;
  std::string inside;
  auto parent = green::spawn(green::SpawnOptions{.name = "parent"}, [&] {
    auto child = green::spawn(green::SpawnOptions{.name = "child"}, [&] { event.wait(); });
    green::spawn(green::SpawnOptions{.name = "fd-waiter"}, [] {
      green::Waiter w("wait_read");
      w.set_fd(7, "read");
      w.wait(30);
    });
    auto sleeper = green::spawn(green::SpawnOptions{.name = "sleeper"}, [] { green::sleep(60); });
    green::sleep(0);
    inside = green::format_run_info();  // from a greenlet: it shows itself running
    child.join();
    sleeper.kill();
  });
  auto later = green::spawn_later(30, [] {});
  green::sleep(0);
  green::sleep(0);
  const std::string text = green::format_run_info();
  event.set();
  parent.get();
  later.kill();

  EXPECT_TRUE(has(text, "^green run info: pid [0-9]+, [0-9]+ hubs?\n")) << text;
  EXPECT_TRUE(has(text, "hub on thread [0-9]+: switches [0-9]+, spawns")) << text;
  EXPECT_TRUE(has(text, "\n  'MainGreenlet' \\(id [0-9]+\\): running\n")) << text;
  // Children are indented under the greenlet that spawned them.
  EXPECT_TRUE(has(text, "\n    'parent' \\(id [0-9]+\\): waiting on Greenlet.join for [0-9.]+ s; age [0-9.]+ s\n"))
      << text;
  EXPECT_TRUE(has(text, "\n      'child' \\(id [0-9]+\\): waiting on Event.wait for [0-9.]+ s; age")) << text;
  EXPECT_TRUE(has(text, "\n      'fd-waiter' \\(id [0-9]+\\): waiting on wait_read \\(fd 7, read\\) for [0-9.]+ s, "
                        "timeout in (29|30)\\.[0-9]+ s; age"))
      << text;
  EXPECT_TRUE(has(text, "\n      'sleeper' \\(id [0-9]+\\): waiting on sleep for [0-9.]+ s, timeout in")) << text;
  EXPECT_TRUE(has(text, "\\): not started \\(spawn_later\\)")) << text;
  EXPECT_TRUE(has(inside, "\n    'parent' \\(id [0-9]+\\): running; age")) << inside;
  EXPECT_TRUE(has(inside, "\n  'MainGreenlet' \\(id [0-9]+\\): ready\n")) << inside;
}

TEST(RunInfo, ShowsReadyAndDeadSpawner) {
  green::Event event;
  green::GreenletRef orphan;
  auto spawner = green::spawn([&] { orphan = green::spawn(green::SpawnOptions{.name = "orphan"}, [&] { event.wait(); }); });
  spawner.join();
  auto ready = green::spawn(green::SpawnOptions{.name = "not-yet"}, [] {});
  const std::string text = green::format_run_info();
  event.set();
  orphan.join();
  ready.join();
  EXPECT_TRUE(has(text, "'orphan' \\(id [0-9]+\\): (ready, not started|waiting on Event.wait)[^\n]*; spawned by id [0-9]+ "
                        "\\(dead\\)"))
      << text;
  EXPECT_TRUE(has(text, "'not-yet' \\(id [0-9]+\\): ready, not started")) << text;
}

TEST(RunInfo, OtherHubsDescribeThemselves) {
  green::HubThread thread("run-info-test");
  green::Event stop;
  auto waiting = thread.spawn([&stop] {
    green::getcurrent()->set_name("remote-waiter");
    stop.wait();
  });
  std::string text;
  for (int i = 0; i < 200 && !has(text, "remote-waiter"); ++i) {
    green::sleep(0.005);
    text = green::format_run_info();
  }
  stop.set();
  waiting.get();
  EXPECT_TRUE(has(text, "[0-9]+ hubs\n")) << text;
  EXPECT_TRUE(has(text, "'remote-waiter' \\(id [0-9]+\\): waiting on Event.wait")) << text;
}

TEST(RunInfo, AStalledHubShowsOnlyItsCounters) {
  green::HubThread thread("run-info-busy");
  std::atomic<bool> spinning{false}, release{false};
  auto busy = thread.spawn([&] {
    spinning = true;
    while (!release) {
    }
  });
  while (!spinning) std::this_thread::yield();
  const std::string text = green::format_run_info();
  release = true;
  busy.get();
  EXPECT_TRUE(has(text, "did not answer within 1 s")) << text;
}

TEST(RunInfo, PrintWritesToStderr) {
  testing::internal::CaptureStderr();
  green::print_run_info();
  const std::string text = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(has(text, "^green run info: pid")) << text;
}

}  // namespace

namespace {
TEST(RunInfo, AnFdWaitShowsTheFdAndDirection) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto reader = green::spawn(green::SpawnOptions{.name = "reader"}, [&] { green::wait_read(fds[0], 30); });
  green::sleep(0);
  const std::string text = green::format_run_info();
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  reader.get();
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_TRUE(has(text, "'reader' \\(id [0-9]+\\): waiting on wait_read \\(fd " + std::to_string(fds[0]) +
                            ", read\\) for [0-9.]+ s, timeout in"))
      << text;
}
}  // namespace
