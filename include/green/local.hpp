// green/local.hpp: threading.local / gevent.local.
//
// Local<T> holds one T per greenlet. The first get() in a greenlet creates its value
// (default-constructed, or from the init function given to the constructor); later calls
// in that greenlet return the same object; other greenlets see their own. A greenlet's
// values are destroyed when it dies, in its own context, newest first, before its joiners
// wake; the main greenlet's at thread exit. Destroying the Local destroys every greenlet's
// value for it at once (on the destroying thread).
//
// This is the per-greenlet answer to thread_local, which all greenlets of an OS thread
// share. A lookup walks the calling greenlet's short list of values: no lock, no
// allocation; only the first use in a greenlet allocates. Using a Local in the hub or in a
// RawGreenlet throws std::logic_error (they have no per-greenlet storage).
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

namespace green {

namespace detail {
class LocalBase;

// One value of one Local in one greenlet. It is on two lists: the greenlet's (touched
// only on the greenlet's own thread) and the Local's; a process-wide mutex guards the
// Local lists and `local`. Each list holds a reference; the value is destroyed by whichever
// side detaches it first (the greenlet dying, or the Local being destroyed).
struct LocalSlot {
  virtual ~LocalSlot() = default;
  virtual void reset_value() noexcept = 0;
  virtual void* value() noexcept = 0;

  LocalSlot* next_in_greenlet = nullptr;
  LocalSlot* prev_in_local = nullptr;
  LocalSlot* next_in_local = nullptr;
  LocalBase* local = nullptr;  // null once detached from the Local
  std::uint64_t key = 0;       // the Local's id: never reused, so a stale slot never matches
  bool claimed = false;        // detached by its dying greenlet, which destroys the value
  std::atomic<int> refs{2};
};

class LocalBase {
 public:
  LocalBase(const LocalBase&) = delete;
  LocalBase& operator=(const LocalBase&) = delete;

 protected:
  LocalBase() noexcept;
  ~LocalBase();
  // The calling greenlet's value, or nullptr.
  void* find() const;
  // Adopts `slot` as the calling greenlet's value; returns it.
  void* insert(std::unique_ptr<LocalSlot> slot);
  // Destroys the calling greenlet's value, if it has one.
  void erase();

 private:
  friend struct LocalAccess;
  const std::uint64_t key_;
  LocalSlot* head_ = nullptr;
};
}  // namespace detail

template <class T>
class Local : detail::LocalBase {
 public:
  Local() requires std::default_initializable<T> = default;
  // `init` makes each greenlet's first value. std::invalid_argument if it is empty and T
  // cannot be default-constructed.
  explicit Local(std::function<T()> init) : init_(std::move(init)) {
    if constexpr (!std::default_initializable<T>)
      if (!init_) throw std::invalid_argument("green::Local: the init function is empty");
  }

  // The calling greenlet's value, created on first use.
  T& get() {
    if (void* value = find()) return *static_cast<T*>(value);
    auto slot = std::make_unique<Slot>();
    if (init_) {
      slot->storage.emplace(init_());
    } else if constexpr (std::default_initializable<T>) {
      slot->storage.emplace();
    }
    return *static_cast<T*>(insert(std::move(slot)));
  }
  T& operator*() { return get(); }
  T* operator->() { return &get(); }
  // Replaces (or creates) the calling greenlet's value.
  void set(T value) {
    if (void* existing = find()) {
      *static_cast<T*>(existing) = std::move(value);
      return;
    }
    auto slot = std::make_unique<Slot>();
    slot->storage.emplace(std::move(value));
    insert(std::move(slot));
  }
  // Whether the calling greenlet has a value.
  bool has_value() const { return find() != nullptr; }
  // Destroys the calling greenlet's value; the next get() creates a fresh one.
  void reset() { erase(); }

 private:
  struct Slot final : detail::LocalSlot {
    std::optional<T> storage;
    void reset_value() noexcept override { storage.reset(); }
    void* value() noexcept override { return &*storage; }
  };
  std::function<T()> init_;
};

}  // namespace green
