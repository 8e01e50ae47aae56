// green/event.hpp: threading.Event / gevent.event.Event.
//
// set() wakes every greenlet waiting, in the order they started waiting, and may be called
// from any OS thread (the waiters' hubs are woken through their ev_async). clear() makes
// later waits block again; a waiter already woken by set() still returns true.
#pragma once

#include <atomic>
#include <optional>

#include "green/linkable.hpp"

namespace green {

class Event : public Linkable {
 public:
  Event() = default;

  void set() noexcept;
  void clear() noexcept;
  bool is_set() const noexcept { return flag_.load(std::memory_order_acquire); }
  bool ready() const noexcept override { return is_set(); }
  // Blocks until set, or until `timeout` seconds pass; returns whether the event was set.
  bool wait(std::optional<double> timeout = {});

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace green
