// green/channel.hpp: a rendezvous channel (gevent.queue.Channel, Go's unbuffered chan).
//
// A Channel stores nothing: put(v) waits until a getter takes v, and get() waits until a
// putter offers an item. Putters are served in the order they started waiting, and so
// are getters. put_nowait() succeeds only when a getter is already waiting (else
// QueueFull), get_nowait() only when a putter is (else QueueEmpty). Timeouts, kills,
// close() and range-for behave as for green::Queue (queue.hpp): a getter killed just
// after it was handed an item passes it to the next getter (or keeps it for the next
// get), and close() wakes every waiter (a waiting putter throws QueueClosed and keeps its
// item). As in gevent, qsize() is 0 and full() is true: there is never room to store;
// balance() is the number of waiting putters minus the number of waiting getters.
#pragma once

#include "green/queue.hpp"

namespace green {

template <class T>
class Channel : private detail::BasicQueue<T, detail::FifoStore<T>> {
  using Base = detail::BasicQueue<T, detail::FifoStore<T>>;

 public:
  Channel() : Base(detail::kChannelNames, 0, /*rendezvous=*/true) {}

  using typename Base::iterator;
  using typename Base::value_type;
  using Base::begin;
  using Base::close;
  using Base::closed;
  using Base::end;
  using Base::get;
  using Base::get_nowait;
  using Base::put;
  using Base::put_nowait;
  using Base::waiting_getters;
  using Base::waiting_putters;

  // Items held for a getter that was killed just after a hand-off (normally 0).
  std::size_t qsize() const noexcept { return Base::qsize(); }
  bool empty() const noexcept { return Base::empty(); }
  bool full() const noexcept { return true; }
  std::ptrdiff_t balance() const noexcept { return Base::balance(); }
};

}  // namespace green
