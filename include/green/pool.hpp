// green/pool.hpp: a Group with a bounded number of members (gevent.pool.Pool,
// multiprocessing.Pool over greenlets).
//
// Pool(size) runs at most `size` members at once. spawn() waits for a free slot; waiting
// spawners, queued apply_async/submit calls and imap feeders get slots in FIFO order, and
// a freed slot is handed straight to the first of them, so a late arrival never jumps the
// queue. A spawner killed or timed out while waiting takes no slot (one handed to it just
// before passes on to the next). wait_available() waits for a free slot without taking
// it. Everything else (map, imap, imap_unordered, apply, join, kill, ...) is Group's.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>

#include "green/group.hpp"

namespace green {

// No slot was free (add without blocking) or none came in time (gevent.pool.PoolFull).
class PoolFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Pool : public Group {
 public:
  // std::invalid_argument unless size >= 1.
  explicit Pool(std::size_t size);

  std::size_t size() const noexcept { return size_; }
  std::size_t free_count() const noexcept { return free_; }
  bool full() const noexcept { return free_ == 0; }
  // Waits until a slot is free (or `timeout` passes) without taking it; returns
  // free_count() then.
  std::size_t wait_available(std::optional<double> timeout = {});
  // Adopts a running greenlet, taking a slot: waits for one when blocking (up to
  // `timeout`), else throws PoolFull at once if none is free.
  void add(const GreenletRef& greenlet, bool blocking = true, std::optional<double> timeout = {});
};

}  // namespace green
