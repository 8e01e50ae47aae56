// green/greenlet.hpp: gevent-style greenlets scheduled by the hub.
//
// spawn(fn, args...) creates a greenlet whose parent is the current thread's hub and
// schedules it to run on the hub's next pass over its run queue. The returned handle
// (Greenlet<T>, convertible to GreenletRef) is shared: the greenlet runs to completion
// whether or not anybody keeps a handle. A greenlet's function runs inside a catch-all:
// nothing escapes to the hub; the result or exception is kept for get(). An exception
// nobody is linked to or joining when the greenlet dies is printed once on stderr.
//
// Stacks are taken when a greenlet first runs, from a per-thread pool that maps memory in
// slabs. spawn first makes sure the pool can give a stack now: when the kernel refuses the
// memory (an address-space limit, vm.max_map_count), spawn throws std::system_error
// (ENOMEM) naming the stack size and what to do, and nothing was spawned. A greenlet that
// still finds no stack when it starts (many spawned before any ran) dies with that error.
//
// kill() throws GreenletExit at the target's current switch point (or cancels it if it
// has not started); get() on a killed greenlet throws GreenletExit. Every blocking call
// throws std::logic_error when made from the hub itself, where it would deadlock.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "green/errors.hpp"
#include "green/linkable.hpp"
#include "green/raw_greenlet.hpp"

namespace green {

class GreenletRef;
class GreenletBase;

namespace detail {
void defer_exception(GreenletBase& self, std::exception_ptr error, bool is_kill) noexcept;
bool has_deferred_exception(const GreenletBase& self) noexcept;
std::exception_ptr take_deferred_exception(GreenletBase& self, bool& is_kill) noexcept;
void check_stack(GreenletBase& greenlet);
struct HubAccess;

// Per-greenlet storage, for green::Local (the sync layer defines destroy_locals). Core only
// keeps the head of the greenlet's list of values and calls destroy_locals: once the
// greenlet's function has returned, in its own context and before its joiners wake; and
// when the greenlet is destroyed, for what is left (the main greenlet, abandoned ones).
struct LocalSlot;
LocalSlot*& locals_of(GreenletBase& greenlet) noexcept;
void destroy_locals(GreenletBase& greenlet) noexcept;
}  // namespace detail

struct SpawnOptions {
  std::string name;            // default "Greenlet-<id>"
  std::size_t stack_size = 0;  // 0: the default (GREEN_STACK_SIZE, else 256 KiB)
};

using LinkId = std::uint64_t;

namespace detail {
// Intrusive, thread-safe reference count: one allocation per greenlet, no control block.
template <class T>
class Ref {
 public:
  Ref() = default;
  explicit Ref(T* p) noexcept : p_(p) { if (p_) p_->add_ref(); }
  Ref(const Ref& o) noexcept : Ref(o.p_) {}
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref(const Ref<U>& o) noexcept : Ref(o.get()) {}
  Ref& operator=(Ref o) noexcept { std::swap(p_, o.p_); return *this; }
  ~Ref() { if (p_) p_->release(); }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  friend bool operator==(const Ref& a, const Ref& b) noexcept { return a.p_ == b.p_; }

 private:
  T* p_ = nullptr;
};
}  // namespace detail

// The state every greenlet shares; handles point at it.
class GreenletBase : protected RawGreenlet, public Linkable {
 public:
  ~GreenletBase() override;

  bool ready() const noexcept override { return finished_.load(std::memory_order_acquire); }
  bool dead() const noexcept { return ready(); }
  bool started() const noexcept { return RawGreenlet::started() || ready(); }
  bool successful() const noexcept { return ready() && !error_; }
  // The exception the greenlet died with (GreenletExit if killed), or null.
  std::exception_ptr exception() const noexcept { return ready() ? error_ : nullptr; }
  // Waits until the greenlet is dead; false if `timeout` seconds passed first.
  bool join(std::optional<double> timeout = {});
  void kill(bool block = true, std::optional<double> timeout = {});
  // Runs `callback` with this greenlet once it is dead (at once if it already is), in the
  // dying greenlet's context after joiners have been woken.
  LinkId link(std::function<void(GreenletRef)> callback);
  void unlink(LinkId id) noexcept;
  void rethrow_if_failed() const;

  std::string name() const;
  void set_name(std::string name);
  std::uint64_t id() const noexcept { return id_; }
  Hub& hub() const noexcept { return *hub_; }
  std::size_t stack_size() const noexcept { return RawGreenlet::stack_size(); }
  const char* diagnostic_name() const noexcept override;
  // The type of the function it was spawned with: names its spawn site in the stack
  // census (GREEN_STACK_CENSUS) and in diagnostics. Null for the main greenlet.
  const std::type_info* spawn_site() const noexcept { return spawn_site_; }

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  explicit GreenletBase(const SpawnOptions& options, const std::type_info* spawn_site = nullptr);
  explicit GreenletBase(MainTag);
  virtual void run_body() = 0;

 private:
  friend class Hub;
  friend class Waiter;
  friend struct detail::ThreadState;
  friend struct detail::HubAccess;
  friend void detail::defer_exception(GreenletBase&, std::exception_ptr, bool) noexcept;
  friend bool detail::has_deferred_exception(const GreenletBase&) noexcept;
  friend std::exception_ptr detail::take_deferred_exception(GreenletBase&, bool&) noexcept;
  friend detail::LocalSlot*& detail::locals_of(GreenletBase&) noexcept;
  friend void detail::check_stack(GreenletBase&);
  enum class Sched : std::uint8_t { idle, queued, running, waiting, finished };
  struct Callback {
    LinkId id;
    std::function<void(GreenletRef)> fn;
  };

  void run() final;
  GreenletBase* greenlet_base() noexcept override { return this; }
  void finish(std::exception_ptr error) noexcept;
  void report_unhandled() const noexcept;

  // What a wait, a wake-up and a resume touch comes first, in one 64-byte run (two cache
  // lines at most, one when the object is aligned), for the reason given in RawGreenlet.
  std::atomic<bool> finished_{false};
  Sched sched_ = Sched::idle;
  bool cancelled_ = false;      // killed before it started
  bool pending_is_kill_ = false;  // the pending exception is GreenletExit
  // For run info and gdb (green-info): times are the hub loop's clock (ev_now).
  int waiting_fd_ = -1;                  // the fd a Waiter was told it waits for
  Hub* hub_ = nullptr;
  GreenletBase* next_ready_ = nullptr;
  std::uint64_t wait_seq_ = 0;
  const char* waiting_on_ = nullptr;
  const char* waiting_direction_ = nullptr;
  double waiting_since_ = 0;
  double wait_deadline_ = 0;             // 0: the wait has no timeout
  std::atomic<std::uint32_t> refs_{0};
  GreenletBase* live_prev_ = nullptr;  // the hub's list of started greenlets
  GreenletBase* live_next_ = nullptr;
  std::uint64_t id_;
  double spawned_at_ = 0;
  std::uint64_t spawner_id_ = 0;         // 0: spawned by the hub (a callback)
  void* start_timer_ = nullptr;  // spawn_later's ev_timer, owned by the hub
  const std::type_info* spawn_site_ = nullptr;
  std::exception_ptr error_;
  std::string name_;
  std::vector<Callback> callbacks_;
  detail::LocalSlot* locals_ = nullptr;  // green::Local values (see detail::locals_of)
  LinkId next_link_id_ = 1;
};

namespace detail {
template <class T>
class GreenletState : public GreenletBase {
 public:
  using GreenletBase::GreenletBase;
  const T& value() const { return *value_; }

 protected:
  std::optional<T> value_;
};

template <>
class GreenletState<void> : public GreenletBase {
 public:
  using GreenletBase::GreenletBase;
  void value() const {}
};

template <class T, class F>
class GreenletImpl final : public GreenletState<T> {
 public:
  GreenletImpl(const SpawnOptions& options, const std::type_info* site, F&& fn)
      : GreenletState<T>(options, site), fn_(std::move(fn)) {}

 private:
  void run_body() override {
    // The function and its captured arguments die as soon as it returns, not with the handle.
    struct Reset {
      std::optional<F>& fn;
      ~Reset() { fn.reset(); }
    } reset{fn_};
    if constexpr (std::is_void_v<T>)
      (*fn_)();
    else
      this->value_.emplace((*fn_)());
  }
  std::optional<F> fn_;
};

void start_greenlet(GreenletBase& greenlet);
void start_greenlet_later(GreenletBase& greenlet, double seconds);
// spawn's check that a stack can be had now (see spawn); throws std::system_error.
void check_stack(GreenletBase& greenlet);
std::string format_seconds(double seconds);
}  // namespace detail

// A type-erased handle to any greenlet.
class GreenletRef {
 public:
  GreenletRef() = default;
  explicit GreenletRef(GreenletBase* g) noexcept : ref_(g) {}

  // Joins, then rethrows the greenlet's exception if it had one. TimeoutError on timeout.
  void get(std::optional<double> timeout = {}) const;
  bool join(std::optional<double> timeout = {}) const { return ref_->join(timeout); }
  void kill(bool block = true, std::optional<double> timeout = {}) const { ref_->kill(block, timeout); }
  bool ready() const noexcept { return ref_->ready(); }
  bool dead() const noexcept { return ref_->dead(); }
  bool started() const noexcept { return ref_->started(); }
  bool successful() const noexcept { return ref_->successful(); }
  std::exception_ptr exception() const noexcept { return ref_->exception(); }
  LinkId link(std::function<void(GreenletRef)> callback) const { return ref_->link(std::move(callback)); }
  void unlink(LinkId id) const noexcept { ref_->unlink(id); }
  std::string name() const { return ref_->name(); }
  std::uint64_t id() const noexcept { return ref_->id(); }

  GreenletBase* get_base() const noexcept { return ref_.get(); }
  Linkable& linkable() const noexcept { return *ref_; }
  GreenletBase* operator->() const noexcept { return ref_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(ref_); }
  friend bool operator==(const GreenletRef& a, const GreenletRef& b) noexcept { return a.ref_ == b.ref_; }

 private:
  detail::Ref<GreenletBase> ref_;
};

template <class T>
class Greenlet {
 public:
  using value_type = T;
  Greenlet() = default;
  explicit Greenlet(detail::GreenletState<T>* g) noexcept : ref_(g) {}

  // Joins (up to `timeout`, else TimeoutError), then returns the result or rethrows.
  decltype(auto) get(std::optional<double> timeout = {}) const {
    GreenletRef(ref_.get()).get(timeout);
    return ref_->value();
  }
  bool join(std::optional<double> timeout = {}) const { return ref_->join(timeout); }
  void kill(bool block = true, std::optional<double> timeout = {}) const { ref_->kill(block, timeout); }
  bool ready() const noexcept { return ref_->ready(); }
  bool dead() const noexcept { return ref_->dead(); }
  bool started() const noexcept { return ref_->started(); }
  bool successful() const noexcept { return ref_->successful(); }
  std::exception_ptr exception() const noexcept { return ref_->exception(); }
  LinkId link(std::function<void(GreenletRef)> callback) const { return ref_->link(std::move(callback)); }
  void unlink(LinkId id) const noexcept { ref_->unlink(id); }
  std::string name() const { return ref_->name(); }
  std::uint64_t id() const noexcept { return ref_->id(); }

  operator GreenletRef() const noexcept { return GreenletRef(ref_.get()); }
  GreenletBase* get_base() const noexcept { return ref_.get(); }
  Linkable& linkable() const noexcept { return *ref_; }
  GreenletBase* operator->() const noexcept { return ref_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(ref_); }

 private:
  detail::Ref<detail::GreenletState<T>> ref_;
};

namespace detail {
template <class F, class... Args>
auto make_greenlet(const SpawnOptions& options, F&& f, Args&&... args) {
  using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
  auto body = [fn = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> R {
    return std::invoke(std::move(fn), std::move(args)...);
  };
  auto* state = new GreenletImpl<R, decltype(body)>(options, &typeid(std::decay_t<F>), std::move(body));
  return Greenlet<R>(state);
}
}  // namespace detail

// Creates a greenlet that runs fn(args...) on the hub's next pass.
template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(F&& f, Args&&... args) {
  auto g = detail::make_greenlet(SpawnOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  detail::check_stack(*g.get_base());
  detail::start_greenlet(*g.get_base());
  return g;
}

template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn(const SpawnOptions& options, F&& f, Args&&... args) {
  auto g = detail::make_greenlet(options, std::forward<F>(f), std::forward<Args>(args)...);
  detail::check_stack(*g.get_base());
  detail::start_greenlet(*g.get_base());
  return g;
}

// Like spawn, but starts after `seconds` (std::invalid_argument if negative or NaN).
// Killing it before then cancels it.
template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
auto spawn_later(double seconds, F&& f, Args&&... args) {
  if (!(seconds >= 0))
    throw std::invalid_argument("green::spawn_later: seconds must be >= 0, got " + detail::format_seconds(seconds));
  auto g = detail::make_greenlet(SpawnOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  detail::check_stack(*g.get_base());
  detail::start_greenlet_later(*g.get_base(), seconds);
  return g;
}

// The running greenlet (the main greenlet on a thread's own stack). Throws
// std::logic_error inside a RawGreenlet, which is not a Greenlet.
GreenletRef getcurrent();

// Waits for all greenlets (up to `timeout`); returns those that finished, in the order
// given. With raise_error, the first exception a greenlet dies with is rethrown as soon
// as it happens.
std::vector<GreenletRef> joinall(const std::vector<GreenletRef>& greenlets,
                                 std::optional<double> timeout = {}, bool raise_error = false);
// Kills every greenlet (each gets GreenletExit); with block, waits up to `timeout`.
void killall(const std::vector<GreenletRef>& greenlets, bool block = true,
             std::optional<double> timeout = {});

template <class Range>
  requires(!std::is_same_v<std::decay_t<Range>, std::vector<GreenletRef>>)
std::vector<GreenletRef> joinall(const Range& greenlets, std::optional<double> timeout = {},
                                 bool raise_error = false) {
  return joinall(std::vector<GreenletRef>(std::begin(greenlets), std::end(greenlets)), timeout, raise_error);
}

template <class Range>
  requires(!std::is_same_v<std::decay_t<Range>, std::vector<GreenletRef>>)
void killall(const Range& greenlets, bool block = true, std::optional<double> timeout = {}) {
  killall(std::vector<GreenletRef>(std::begin(greenlets), std::end(greenlets)), block, timeout);
}

}  // namespace green
