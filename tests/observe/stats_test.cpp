#include "green/stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "green/green.hpp"

namespace {

std::uint64_t waits_of(const green::HubStats& s, const std::string& kind) {
  for (const auto& [k, n] : s.waits)
    if (k == kind) return n;
  return 0;
}

TEST(Stats, CountsSpawnsSwitchesLiveAndWaitsByKind) {
  const green::HubStats before = green::hub_stats();
  green::Event event;
  std::vector<green::GreenletRef> greenlets;
  for (int i = 0; i < 10; ++i) greenlets.push_back(green::spawn([&event] { event.wait(); }));
  for (int i = 0; i < 5; ++i) greenlets.push_back(green::spawn([] { green::sleep(0.001); }));
  green::sleep(0);  // all of them start and block
  const green::HubStats during = green::hub_stats();
  EXPECT_EQ(during.spawns - before.spawns, 15u);
  EXPECT_EQ(during.live, before.live + 15);
  EXPECT_GE(during.peak_live, before.live + 15);
  EXPECT_GE(during.switches - before.switches, 15u);
  EXPECT_EQ(waits_of(during, "Event.wait") - waits_of(before, "Event.wait"), 10u);
  event.set();
  green::joinall(greenlets);
  const green::HubStats after = green::hub_stats();
  EXPECT_EQ(after.live, before.live);
  EXPECT_EQ(waits_of(after, "sleep") - waits_of(before, "sleep"), 5u);
  EXPECT_GE(waits_of(after, "Greenlet.join") - waits_of(before, "Greenlet.join"), 1u);
  EXPECT_EQ(after.total_waits() - before.total_waits(),
            (waits_of(after, "Event.wait") - waits_of(before, "Event.wait")) +
                (waits_of(after, "sleep") - waits_of(before, "sleep")) +
                (waits_of(after, "Greenlet.join") - waits_of(before, "Greenlet.join")));
  // Most frequent first.
  EXPECT_TRUE(std::is_sorted(after.waits.begin(), after.waits.end(),
                             [](const auto& a, const auto& b) { return a.second > b.second; }));
}

TEST(Stats, FormatNamesEveryCounter) {
  green::HubStats s;
  s.switches = 12;
  s.spawns = 3;
  s.live = 1;
  s.peak_live = 3;
  s.waits = {{"sleep", 4}, {"Event.wait", 3}};
  EXPECT_EQ(s.format(), "switches 12, spawns 3, live 1 (peak 3), waits 7 (sleep 4, Event.wait 3)");
}

TEST(Stats, AllHubsIncludesOtherThreads) {
  green::get_hub();
  green::HubThread thread("stats-test");
  const int tid = thread.spawn([] { return green::hub_stats().tid; }).get();
  const auto all = green::all_hub_stats();
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const green::HubStats& s) { return s.tid == tid; }));
  EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                          [](const green::HubStats& s) { return s.tid == green::get_hub().tid(); }));
  thread.stop();
  const auto later = green::all_hub_stats();
  EXPECT_FALSE(std::any_of(later.begin(), later.end(), [&](const green::HubStats& s) { return s.tid == tid; }));
}

TEST(Stats, OtherWaitKindsOverflowIntoOther) {
  // More distinct kinds than the table holds: nothing is lost, the rest count as "other".
  static char kinds[100][16];
  const green::HubStats before = green::hub_stats();
  green::HubThread thread("stats-kinds");
  thread.spawn([] {
    for (int i = 0; i < 100; ++i) {
      std::snprintf(kinds[i], sizeof(kinds[i]), "kind-%d", i);
      green::Waiter w(kinds[i]);
      w.wait(0);
    }
    return green::hub_stats();
  }).get();
  (void)before;
  const green::HubStats s = thread.spawn([] { return green::hub_stats(); }).get();
  std::uint64_t total = 0;
  for (const auto& [kind, n] : s.waits)
    if (kind.rfind("kind-", 0) == 0 || kind == "other") total += n;
  EXPECT_EQ(total, 100u);
}

}  // namespace
