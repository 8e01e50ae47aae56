// The process's hubs, for what looks at all of them: run info, stats, the blocking monitor
// and gdb's green-info (which walks first_hub / Hub::next_hub_ in a stopped process).
#pragma once

#include <mutex>
#include <string>

#include "green/hub.hpp"

namespace green::detail {

// Oldest first, linked through Hub::next_hub_, guarded by hubs_mutex. A hub is on the list
// from the end of its constructor to the start of its destructor; its thread is alive then.
extern std::mutex hubs_mutex;
extern Hub* first_hub;

// Called by the hub itself. Registering also applies the environment's observation
// settings (GREEN_MAX_BLOCKING_MS once, GREEN_DUMP_SIGNAL on the main thread's hub, GREEN_STATS);
// unregistering prints the hub's stats when GREEN_STATS=1.
void register_hub(Hub& hub);
void unregister_hub(Hub& hub) noexcept;

// What observation code reads of the hub and its greenlets' private state.
struct HubAccess {
  static Hub* next(const Hub& hub) noexcept { return hub.next_hub_; }
  static Hub*& next_ref(Hub& hub) noexcept { return hub.next_hub_; }
  static void set_tid(Hub& hub, int tid) noexcept { hub.tid_ = tid; }
  static std::uint64_t turn(const Hub& hub) noexcept { return hub.turn_.get(); }
  static GreenletBase* main(const Hub& hub) noexcept { return hub.main_; }
  static GreenletBase* live_head(const Hub& hub) noexcept { return hub.live_head_; }
  static HubStats stats(const Hub& hub);
  // The hub's greenlets as a tree by spawner (run_info.cpp); on the hub's thread only.
  static std::string describe(const Hub& hub);
  static std::string state_of(const GreenletBase& g, RawGreenlet* current, double now);
  static const GreenletBase* live_next(const GreenletBase& g) noexcept { return g.live_next_; }
  // The name given at spawn, or "" (then it is "Greenlet-<id>"); safe in a signal handler.
  static const std::string& given_name(const GreenletBase& g) noexcept { return g.name_; }
};

// Calls fn(hub) for every hub with hubs_mutex held: fn must not block on another hub.
template <class F>
void for_each_hub(F&& fn) {
  std::lock_guard guard(hubs_mutex);
  for (Hub* hub = first_hub; hub != nullptr; hub = HubAccess::next(*hub)) fn(*hub);
}

// Environment settings applied by register_hub, each defined beside what it configures.
void start_blocking_monitor_from_env();  // GREEN_MAX_BLOCKING_MS (blocking_monitor.cpp)
void start_dump_signal(Hub& hub);        // GREEN_DUMP_SIGNAL, main thread's hub (run_info.cpp)
void stop_dump_signal(Hub& hub) noexcept;

}  // namespace green::detail
