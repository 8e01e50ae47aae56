#include "green/group.hpp"

#include <string>

#include "green/hub.hpp"
#include "green/pool.hpp"

namespace green {

namespace detail {
std::exception_ptr task_cancelled(const char* what) {
  return std::make_exception_ptr(CancelledError(std::string("green::Pool: ") + what));
}

bool GroupMember::notify(int) noexcept {
  if (cancel) cancel(task_cancelled("the task was killed before it started"));
  leave();
  return true;
}

void GroupMember::started() noexcept {
  if (greenlet != nullptr) static_cast<Linkable&>(*greenlet).unlink(*this);
}

void GroupMember::leave() noexcept {
  if (group == nullptr) return;
  std::exchange(group, nullptr)->member_left(*this);
}

bool QueuedTask::notify(int reason) noexcept {
  if (reason != Waiter::kNotified) return false;
  Group& g = *group;
  (prev != nullptr ? prev->next : g.queued_head_) = next;
  (next != nullptr ? next->prev : g.queued_tail_) = prev;
  --g.queued_;
  g.admit(*member, *greenlet.get_base());
  start_greenlet(*greenlet.get_base());
  greenlet = GreenletRef();  // the hub holds it now; keeping it would make a cycle
  member->dequeued.reset(this);  // freed with the member, once the task has run
  return true;
}
}  // namespace detail

Group::Group() : Group(0) {}

Group::Group(std::size_t size)
    : size_(size),
      free_(size),
      acquirers_([] { return false; }),
      available_([this] { return free_ > 0; }),
      hub_(&Hub::current()),
      empty_([this] { return count_ == 0 && queued_ == 0; }) {}

Group::~Group() {
  *alive_ = false;
  // Queued calls never run; waiters learn the group is gone; members run on untracked.
  while (detail::QueuedTask* task = queued_head_) {
    queued_head_ = task->next;
    acquirers_.unlink(*task);
    task->member->cancel(detail::task_cancelled("the task was cancelled: its pool was destroyed"));
    delete task;
  }
  queued_tail_ = nullptr;
  queued_ = 0;
  acquirers_.notify_all(kClosed);
  available_.notify_all(kClosed);
  empty_.notify_all(kClosed);
  while (detail::GroupMember* m = head_) {
    head_ = m->next;
    m->group = nullptr;
    if (m->link_id != 0) {
      m->greenlet->unlink(m->link_id);
      delete m;
    } else {
      static_cast<Linkable&>(*m->greenlet).unlink(*m);
    }
  }
}

void Group::check_thread(const char* what) const {
  if (!hub_->is_current_thread())
    throw std::logic_error(std::string("green::Group::") + what +
                           ": a Group or Pool belongs to the hub (OS thread) that created it");
}

bool Group::acquire_slot(bool blocking, std::optional<double> timeout, const char* what) {
  if (size_ == 0) return true;
  if (free_ > 0) {  // the slot queue is empty whenever a slot is free: release hands off
    --free_;
    return true;
  }
  if (!blocking) return false;
  Waiter waiter(what);
  acquirers_.link(waiter);
  const std::shared_ptr<const bool> alive = alive_;  // the pool may die while we wait
  int reason;
  try {
    reason = waiter.wait(timeout);
  } catch (...) {
    // Killed or timed out after a slot was handed over: pass it on.
    if (*alive && waiter.reason() == Waiter::kNotified) release_slot();
    throw;
  }
  if (!*alive)
    throw std::logic_error(std::string("green: ") + what + ": the pool was destroyed while waiting for a slot");
  return reason == Waiter::kNotified;
}

void Group::release_slot() noexcept {
  if (size_ == 0) return;
  if (acquirers_.notify_one(Waiter::kNotified)) return;  // handed to the first in line
  ++free_;
  available_.notify_all(Waiter::kNotified);
}

void Group::admit(detail::GroupMember& m, GreenletBase& greenlet) noexcept {
  m.group = this;
  m.greenlet = &greenlet;
  m.holds_slot = size_ > 0;
  m.prev = tail_;
  m.next = nullptr;
  (tail_ != nullptr ? tail_->next : head_) = &m;
  tail_ = &m;
  ++count_;
  // Not started yet, so not dead: the link always takes. The body unlinks it when it
  // starts; it fires only for a greenlet killed before it ran.
  static_cast<Linkable&>(greenlet).link(m);
}

void Group::member_left(detail::GroupMember& m) noexcept {
  (m.prev != nullptr ? m.prev->next : head_) = m.next;
  (m.next != nullptr ? m.next->prev : tail_) = m.prev;
  m.prev = m.next = nullptr;
  --count_;
  if (std::exchange(m.holds_slot, false)) release_slot();
  if (count_ == 0 && queued_ == 0) empty_.notify_all(Waiter::kNotified);
}

void Group::enqueue_or_start(detail::GroupMember& m, GreenletRef greenlet) {
  if (acquire_slot(false, std::nullopt, "Pool.apply_async")) {
    admit(m, *greenlet.get_base());
    detail::start_greenlet(*greenlet.get_base());
    return;
  }
  auto* task = new detail::QueuedTask;
  task->group = this;
  task->greenlet = std::move(greenlet);
  task->member = &m;
  task->prev = queued_tail_;
  (queued_tail_ != nullptr ? queued_tail_->next : queued_head_) = task;
  queued_tail_ = task;
  ++queued_;
  acquirers_.link(*task);
}

bool Group::add_member(const GreenletRef& greenlet, bool blocking, std::optional<double> timeout) {
  check_thread("add");
  if (!greenlet) throw std::invalid_argument("green::Group::add: empty greenlet handle");
  if (&greenlet->hub() != hub_)
    throw std::invalid_argument("green::Group::add: greenlet '" + greenlet.name() +
                                "' belongs to another hub (OS thread) than the group");
  if (greenlet.dead() || contains(greenlet)) return true;
  if (!acquire_slot(blocking, timeout, "Pool.add")) return false;
  if (greenlet.dead()) {  // died while we waited for the slot
    release_slot();
    return true;
  }
  auto* m = new detail::GroupMember;
  m->group = this;
  m->greenlet = greenlet.get_base();
  m->holds_slot = size_ > 0;
  m->prev = tail_;
  (tail_ != nullptr ? tail_->next : head_) = m;
  tail_ = m;
  ++count_;
  m->link_id = greenlet.link([m](GreenletRef) {
    m->leave();
    delete m;
  });
  return true;
}

void Group::add(const GreenletRef& greenlet) { add_member(greenlet, true, std::nullopt); }

void Group::discard(const GreenletRef& greenlet) {
  check_thread("discard");
  for (detail::GroupMember* m = head_; m != nullptr; m = m->next) {
    if (m->greenlet != greenlet.get_base()) continue;
    if (m->link_id != 0) {
      m->greenlet->unlink(m->link_id);
      m->leave();
      delete m;
    } else {
      static_cast<Linkable&>(*m->greenlet).unlink(*m);
      m->leave();  // the body finds it left already
    }
    return;
  }
}

bool Group::contains(const GreenletRef& greenlet) const {
  for (const detail::GroupMember* m = head_; m != nullptr; m = m->next)
    if (m->greenlet == greenlet.get_base()) return true;
  return false;
}

std::vector<GreenletRef> Group::greenlets() const {
  std::vector<GreenletRef> all;
  all.reserve(count_);
  for (const detail::GroupMember* m = head_; m != nullptr; m = m->next) all.emplace_back(m->greenlet);
  return all;
}

bool Group::join(std::optional<double> timeout) {
  check_thread("join");
  if (empty_.ready()) return true;
  Waiter waiter("Group.join");
  if (!empty_.link_unless_ready(waiter)) return true;
  const std::shared_ptr<const bool> alive = alive_;
  const int reason = waiter.wait(timeout);
  if (!*alive) throw std::logic_error("green: Group.join: the group was destroyed while waiting");
  return reason == Waiter::kNotified || empty_.ready();
}

void Group::kill(bool block, std::optional<double> timeout) {
  check_thread("kill");
  while (detail::QueuedTask* task = queued_head_) {
    queued_head_ = task->next;
    if (queued_head_ != nullptr) queued_head_->prev = nullptr;
    acquirers_.unlink(*task);
    --queued_;
    task->member->cancel(detail::task_cancelled("the task was cancelled by Pool.kill before it started"));
    delete task;
  }
  queued_tail_ = nullptr;
  if (count_ == 0) empty_.notify_all(Waiter::kNotified);
  // A member killing its own group dies last, after the others were killed.
  GreenletBase* self = detail::blockable_greenlet();
  bool self_is_member = false;
  std::vector<GreenletRef> others;
  others.reserve(count_);
  for (const detail::GroupMember* m = head_; m != nullptr; m = m->next) {
    if (m->greenlet == self)
      self_is_member = true;
    else
      others.emplace_back(m->greenlet);
  }
  killall(others, block, timeout);
  if (self_is_member) throw GreenletExit();
}

void Group::killone(const GreenletRef& greenlet, bool block, std::optional<double> timeout) {
  check_thread("killone");
  if (contains(greenlet)) greenlet.kill(block, timeout);
}

bool Group::apply_directly() const {
  if (size_ == 0 || free_ > 0) return false;
  GreenletBase* self = detail::blockable_greenlet();
  if (self == nullptr) return false;
  for (const detail::GroupMember* m = head_; m != nullptr; m = m->next)
    if (m->greenlet == self) return true;
  return false;
}

// ---- Pool ----

namespace {
std::size_t checked_size(std::size_t size) {
  if (size < 1) throw std::invalid_argument("green::Pool: size must be >= 1, got 0 (use a Group for no limit)");
  return size;
}
}  // namespace

Pool::Pool(std::size_t size) : Group(checked_size(size)) {}

std::size_t Pool::wait_available(std::optional<double> timeout) {
  check_thread("wait_available");
  if (free_ > 0) return free_;
  Waiter waiter("Pool.wait_available");
  if (!available_.link_unless_ready(waiter)) return free_;
  const std::shared_ptr<const bool> alive = alive_;
  waiter.wait(timeout);
  if (!*alive) throw std::logic_error("green: Pool.wait_available: the pool was destroyed while waiting");
  return free_;
}

void Pool::add(const GreenletRef& greenlet, bool blocking, std::optional<double> timeout) {
  if (!add_member(greenlet, blocking, timeout))
    throw PoolFull(blocking ? "green::Pool::add: no slot became free within " + detail::format_seconds(*timeout) + " s"
                            : std::string("green::Pool::add: the pool is full"));
}

}  // namespace green
