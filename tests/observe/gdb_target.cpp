// A process for the gdb test: 100 greenlets waiting in four different places, stopped in
// green_gdb_stop_here() with all of them suspended.
#include <string>
#include <vector>

#include "green/green.hpp"

// Each waits in its own named frame; the empty asm keeps the call from becoming a tail
// call, so the frame stays on the stack.
__attribute__((noinline)) void nap(double seconds) {
  green::sleep(seconds);
  asm volatile("");
}
__attribute__((noinline)) void wait_for_event(green::Event& event) {
  event.wait();
  asm volatile("");
}
__attribute__((noinline)) void join_other(green::GreenletRef other) {
  other.join();
  asm volatile("");
}
__attribute__((noinline)) void wait_on_fd(int fd) {
  green::Waiter waiter("wait_read");
  waiter.set_fd(fd, "read");
  waiter.wait(1000);
  asm volatile("");
}

extern "C" __attribute__((noinline)) void green_gdb_stop_here(int count) { asm volatile("" ::"r"(count)); }

int main() {
  green::Event event;
  std::vector<green::GreenletRef> all;
  auto named = [](const char* prefix, int i) { return green::SpawnOptions{.name = prefix + std::to_string(i)}; };
  for (int i = 0; i < 25; ++i) all.push_back(green::spawn(named("napper-", i), nap, 1000.0));
  for (int i = 0; i < 25; ++i) all.push_back(green::spawn(named("waiter-", i), [&event] { wait_for_event(event); }));
  for (int i = 0; i < 25; ++i) all.push_back(green::spawn(named("joiner-", i), join_other, all[i]));
  for (int i = 0; i < 25; ++i) all.push_back(green::spawn(named("fd-", i), wait_on_fd, 100 + i));
  green::sleep(0);  // every one starts and blocks
  green_gdb_stop_here(static_cast<int>(all.size()));
  event.set();
  green::killall(all);
  return 0;
}
