// green/stats.hpp: counters each hub keeps about its greenlets.
//
// Every hub counts, from its creation: switches into greenlets, spawns, greenlets alive now
// and at most, and blocking waits by kind (the description each blocking call gives its
// Waiter: "sleep", "Event.wait", "Greenlet.join", ...). Only the hub's own thread writes a
// counter (a plain increment); any thread may read them at any time, so a snapshot taken
// from another thread is a consistent value per counter, not across counters.
//
// `green-run --stats` (GREEN_STATS=1) prints each hub's counters on stderr when its thread
// ends, the main thread's at exit.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace green {

class Hub;

struct HubStats {
  std::thread::id thread;
  int tid = 0;                 // the kernel's thread id (as in top, gdb, /proc)
  std::uint64_t switches = 0;  // times the hub switched into a greenlet
  std::uint64_t spawns = 0;
  std::size_t live = 0;       // greenlets spawned and not yet dead
  std::size_t peak_live = 0;
  std::vector<std::pair<std::string, std::uint64_t>> waits;  // by kind, most frequent first

  std::uint64_t total_waits() const noexcept;
  // One line: "switches 12, spawns 3, live 1 (peak 3), waits 7 (sleep 4, Event.wait 3)".
  std::string format() const;
};

// The calling thread's hub (created on first use).
HubStats hub_stats();
// Every hub alive in the process, oldest first.
std::vector<HubStats> all_hub_stats();

namespace detail {
// A counter written by one thread and read by any: a relaxed load and store, which compile
// to a plain increment, yet reading it from another thread is not a data race.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n = 1) noexcept { value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(std::uint64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Waits counted by the Waiter's description. Descriptions are static strings, so the table
// is keyed by pointer (a hash and a compare per wait); equal texts at different addresses
// are merged when read. Kinds past the table's size are counted as "other".
class WaitCounts {
 public:
  void count(const char* what) noexcept {
    Slot& first = slots_[(reinterpret_cast<std::uintptr_t>(what) >> 3) % kSlots];
    if (first.what.load(std::memory_order_relaxed) == what) [[likely]]
      first.count.add();
    else
      count_slow(what);
  }
  std::vector<std::pair<std::string, std::uint64_t>> snapshot() const;

 private:
  static constexpr std::size_t kSlots = 64;
  struct Slot {
    std::atomic<const char*> what{nullptr};
    Counter count;
  };
  void count_slow(const char* what) noexcept;
  Slot slots_[kSlots];
  Counter other_;
};
}  // namespace detail

}  // namespace green
