#include "green/local.hpp"

#include <mutex>
#include <stdexcept>

#include "core/thread_state.hpp"
#include "green/greenlet.hpp"

namespace green::detail {
namespace {
std::atomic<std::uint64_t> next_key{1};
// Guards every Local's list and LocalSlot::local. Taken on first use of a Local in a
// greenlet, at greenlet death and at Local destruction; never by a lookup.
std::mutex registry;

GreenletBase& current_greenlet() {
  GreenletBase* g = ThreadState::get().current->greenlet_base();
  if (g == nullptr)
    throw std::logic_error("green::Local: used in the hub or in a RawGreenlet, which have no per-greenlet storage");
  return *g;
}

void release(LocalSlot* slot) noexcept {
  if (slot->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete slot;
}
}  // namespace

struct LocalAccess {
  static void unlink_locked(LocalBase& local, LocalSlot& slot) noexcept {
    if (slot.prev_in_local != nullptr)
      slot.prev_in_local->next_in_local = slot.next_in_local;
    else
      local.head_ = slot.next_in_local;
    if (slot.next_in_local != nullptr) slot.next_in_local->prev_in_local = slot.prev_in_local;
    slot.prev_in_local = slot.next_in_local = nullptr;
    slot.local = nullptr;
  }
  static void link_locked(LocalBase& local, LocalSlot& slot) noexcept {
    slot.local = &local;
    slot.key = local.key_;
    slot.prev_in_local = nullptr;
    slot.next_in_local = local.head_;
    if (local.head_ != nullptr) local.head_->prev_in_local = &slot;
    local.head_ = &slot;
  }
  static std::uint64_t key(const LocalBase& local) noexcept { return local.key_; }
  static LocalSlot* take_all_locked(LocalBase& local) noexcept { return std::exchange(local.head_, nullptr); }
};

LocalBase::LocalBase() noexcept : key_(next_key.fetch_add(1, std::memory_order_relaxed)) {}

LocalBase::~LocalBase() {
  LocalSlot* slots;
  {
    std::lock_guard guard(registry);
    slots = LocalAccess::take_all_locked(*this);
    for (LocalSlot* s = slots; s != nullptr; s = s->next_in_local) {
      s->local = nullptr;
    }
  }
  // The greenlets' lists still hold these slots (and a reference each); they drop them
  // when they next add a value or die.
  while (LocalSlot* s = slots) {
    slots = s->next_in_local;
    s->reset_value();
    release(s);
  }
}

void* LocalBase::find() const {
  for (LocalSlot* s = locals_of(current_greenlet()); s != nullptr; s = s->next_in_greenlet)
    if (s->key == key_) return s->value();
  return nullptr;
}

void* LocalBase::insert(std::unique_ptr<LocalSlot> owned) {
  LocalSlot*& head = locals_of(current_greenlet());
  LocalSlot* slot = owned.release();
  std::lock_guard guard(registry);
  // Drop slots whose Local is gone, so a long-lived greenlet does not collect them.
  for (LocalSlot** link = &head; *link != nullptr;) {
    LocalSlot* s = *link;
    if (s->local == nullptr) {
      *link = s->next_in_greenlet;
      release(s);
    } else {
      link = &s->next_in_greenlet;
    }
  }
  LocalAccess::link_locked(*this, *slot);
  slot->next_in_greenlet = head;
  head = slot;
  return slot->value();
}

void LocalBase::erase() {
  LocalSlot*& head = locals_of(current_greenlet());
  LocalSlot* found = nullptr;
  {
    std::lock_guard guard(registry);
    for (LocalSlot** link = &head; *link != nullptr; link = &(*link)->next_in_greenlet) {
      if ((*link)->key != key_) continue;
      found = *link;
      *link = found->next_in_greenlet;
      LocalAccess::unlink_locked(*this, *found);
      break;
    }
  }
  if (found == nullptr) return;
  found->reset_value();
  delete found;  // off both lists: nobody else holds it
}

void destroy_locals(GreenletBase& greenlet) noexcept {
  LocalSlot* slots;
  {
    std::lock_guard guard(registry);
    slots = std::exchange(locals_of(greenlet), nullptr);
    for (LocalSlot* s = slots; s != nullptr; s = s->next_in_greenlet) {
      if (s->local == nullptr) continue;  // its Local was destroyed and destroys the value
      LocalAccess::unlink_locked(*s->local, *s);
      s->claimed = true;
      release(s);  // the Local's reference: it no longer lists the slot
    }
  }
  // Newest first, outside the mutex: a value's destructor may use Locals, or even block.
  while (LocalSlot* s = slots) {
    slots = s->next_in_greenlet;
    if (s->claimed) s->reset_value();
    release(s);
  }
}

}  // namespace green::detail
