#include "green/queue.hpp"

#include <string>

#include "green/errors.hpp"
#include "green/greenlet.hpp"

namespace green::detail {

namespace {
std::string prefix(const QueueNames& names, const char* op) {
  return std::string("green::") + names.kind + "." + op;
}

bool is_channel(const QueueNames& names) { return &names == &kChannelNames; }
}  // namespace

void throw_queue_empty(const QueueNames& names, const char* op, std::optional<double> waited) {
  std::string what = prefix(names, op);
  what += waited ? ": timed out after " + format_seconds(*waited) + " s;" : std::string(":");
  what += is_channel(names) ? " no putter is waiting" : " the queue is empty";
  throw QueueEmpty(what);
}

void throw_queue_full(const QueueNames& names, const char* op, std::size_t maxsize, std::optional<double> waited) {
  std::string what = prefix(names, op);
  what += waited ? ": timed out after " + format_seconds(*waited) + " s;" : std::string(":");
  if (is_channel(names))
    what += " no getter is waiting";
  else
    what += " the queue is full (maxsize " + std::to_string(maxsize) + ")";
  throw QueueFull(what);
}

void throw_queue_closed(const QueueNames& names, const char* op) {
  const bool putting = std::string(op).starts_with("put");
  throw QueueClosed(prefix(names, op) + (putting ? ": the queue is closed" : ": the queue is closed and empty"));
}

void check_timeout(const QueueNames& names, const char* op, std::optional<double> timeout) {
  if (timeout && !(*timeout >= 0))
    throw std::invalid_argument(prefix(names, op) + ": timeout must be >= 0, got " + format_seconds(*timeout));
}

void defer_current_exception(GreenletBase& self) noexcept {
  try {
    throw;
  } catch (const GreenletExit&) {
    defer_exception(self, std::current_exception(), true);
  } catch (...) {
    defer_exception(self, std::current_exception(), false);
  }
}

void TaskCounter::done(const QueueNames& names) {
  std::lock_guard guard(lock());
  std::size_t n = unfinished_.load(std::memory_order_relaxed);
  do {
    if (n == 0)
      throw std::logic_error(std::string("green::") + names.kind +
                             ".task_done: called more times than there were items put");
  } while (!unfinished_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel));
  if (n == 1) notify_all_locked(Waiter::kNotified);
}

bool TaskCounter::join(std::optional<double> timeout) {
  if (ready()) return true;
  Waiter waiter("JoinableQueue.join");
  if (!link_unless_ready(waiter)) return true;
  waiter.wait(timeout);
  return ready();
}

}  // namespace green::detail
