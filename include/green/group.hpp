// green/group.hpp: a set of greenlets handled together (gevent.pool.Group), and the
// mapping functions Group and Pool share.
//
// A Group tracks greenlets until they die: spawn() starts one in the group, add() adopts
// a running one, join() waits until the group is empty, kill() kills every member.
// map / imap / imap_unordered run a function over a range, one greenlet per item;
// apply runs one call and returns its result; apply_async / submit queue one call and
// return an AsyncResult at once. An exception a task throws comes out of get(), map or
// the imap iteration with its type; a task killed before it delivered its result
// reports CancelledError there.
//
// imap is lazy: a feeding greenlet reads the range and spawns a task per item as slots
// free up (in a Pool), and the caller's iteration yields results in input order (imap)
// or completion order (imap_unordered). An exception of a task is thrown by the
// iteration at that result; iterating further goes on with the rest. Destroying the
// iteration early stops the feeding; tasks already started run to completion.
//
// A Group belongs to the hub (OS thread) that created it: use it only from greenlets of
// that thread (std::logic_error otherwise). Destroying it stops tracking its members,
// which keep running, cancels queued tasks (CancelledError) and makes greenlets waiting
// for a slot throw std::logic_error. The range given to imap and the Group must outlive
// the iteration.
//
// Exceptions of greenlets spawned in a group are reported on stderr like any other
// greenlet's when nobody joins them; a greenlet add()ed to a group counts as observed.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/async_result.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/iwait.hpp"
#include "green/linkable.hpp"
#include "green/thread_pool.hpp"

namespace green {

class Group;

namespace detail {
std::exception_ptr task_cancelled(const char* what);

// A submitted call waiting for a slot: a node in the slot queue holding a prepared,
// not yet started greenlet.
struct GroupMember;
struct QueuedTask final : LinkNode {
  Group* group = nullptr;
  GreenletRef greenlet;
  GroupMember* member = nullptr;
  QueuedTask* prev = nullptr;
  QueuedTask* next = nullptr;
  bool notify(int reason) noexcept override;  // a slot is handed over: start the greenlet
};

// Group's membership record of one greenlet.
struct GroupMember final : LinkNode {
  Group* group = nullptr;
  GreenletBase* greenlet = nullptr;
  GroupMember* prev = nullptr;
  GroupMember* next = nullptr;
  LinkId link_id = 0;      // an add()ed member: the death callback
  bool holds_slot = false;
  // A task whose caller waits for its result: what to tell it if the task never runs.
  std::function<void(std::exception_ptr)> cancel;
  // A spawned member that died before it started: its body never ran to leave the group.
  bool notify(int reason) noexcept override;
  // The spawned body began: from here on the body itself leaves the group.
  void started() noexcept;
  void leave() noexcept;
  // The queue node this member waited in, once its slot came: a node may not be freed
  // inside its own notify(), so it lives on with the member.
  std::unique_ptr<QueuedTask> dequeued;
};

// A Linkable whose readiness the group decides.
class GroupSignal final : public Linkable {
 public:
  explicit GroupSignal(std::function<bool()> ready) : ready_(std::move(ready)) {}
  bool ready() const noexcept override { return ready_(); }
  void notify_all(int reason) noexcept {
    std::lock_guard guard(lock());
    notify_all_locked(reason);
  }
  bool notify_one(int reason) noexcept {
    std::lock_guard guard(lock());
    return notify_one_locked(reason);
  }

 private:
  std::function<bool()> ready_;
};

template <class R>
struct MapOutcome {
  std::optional<R> value;
  std::exception_ptr error;
  bool done = false;
};

// Shared by an imap iteration, its feeding greenlet and its tasks.
template <class R>
struct MapState {
  explicit MapState(bool ordered) : ordered(ordered) {}
  const bool ordered;
  std::deque<MapOutcome<R>> outcomes;  // ordered: from index `base`; unordered: completion order
  std::size_t base = 0;
  std::size_t spawned = 0;
  std::size_t yielded = 0;
  bool input_done = false;
  bool closed = false;  // the iteration is gone: results are dropped
  std::exception_ptr feed_error;
  Waiter* consumer = nullptr;

  void wake() noexcept {
    if (consumer != nullptr) {
      consumer->notify(Waiter::kNotified);
      consumer = nullptr;
    }
  }
  MapOutcome<R>& slot_for(std::size_t index) {
    if (ordered) return outcomes[index - base];
    outcomes.emplace_back();
    return outcomes.back();
  }
  void deliver(std::size_t index, std::optional<R> value, std::exception_ptr error) {
    if (closed) return;
    MapOutcome<R>& slot = slot_for(index);
    slot.value = std::move(value);
    slot.error = std::move(error);
    slot.done = true;
    wake();
  }
};
}  // namespace detail

// The results of map over a range, as they come (see Group::imap, Group::imap_unordered).
template <class R>
class IMap {
 public:
  IMap(std::shared_ptr<detail::MapState<R>> state, GreenletRef feeder)
      : state_(std::move(state)), feeder_(std::move(feeder)) {}
  IMap(IMap&&) noexcept = default;
  IMap& operator=(IMap&&) = delete;
  ~IMap() {
    if (!state_) return;
    state_->closed = true;
    if (!feeder_ || feeder_.dead()) return;
    // Stop the feeder and wait for it, so that nothing of this iteration is left waiting
    // for a slot (or scheduled but never run) once the caller moves on.
    try {
      feeder_.kill(true);
    } catch (const GreenletExit&) {
      // Killed while waiting: keep the kill for the caller's next switch point.
      if (GreenletBase* self = detail::blockable_greenlet())
        detail::defer_exception(*self, std::current_exception(), true);
    } catch (...) {
    }
  }

  // The next result, or nothing when every item was delivered. Rethrows a task's
  // exception at its result; TimeoutError if `timeout` passes first.
  std::optional<R> next(std::optional<double> timeout = {}) {
    detail::MapState<R>& s = *state_;
    for (;;) {
      if (!s.outcomes.empty() && s.outcomes.front().done) {
        detail::MapOutcome<R> outcome = std::move(s.outcomes.front());
        s.outcomes.pop_front();
        ++s.base;
        ++s.yielded;
        if (outcome.error) std::rethrow_exception(outcome.error);
        return std::move(outcome.value);
      }
      if (s.input_done && s.yielded == s.spawned) {
        if (s.feed_error) std::rethrow_exception(std::exchange(s.feed_error, nullptr));
        return std::nullopt;
      }
      Waiter waiter("Pool.imap");
      s.consumer = &waiter;
      struct Clear {
        detail::MapState<R>& s;
        ~Clear() { s.consumer = nullptr; }
      } clear{s};
      if (waiter.wait(timeout) == Waiter::kTimedOut)
        throw TimeoutError("green: Pool.imap: no result within " + detail::format_seconds(*timeout) + " s", nullptr);
    }
  }

  using iterator = detail::PullIterator<IMap, R>;
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  std::shared_ptr<detail::MapState<R>> state_;
  GreenletRef feeder_;
};

class Group {
 public:
  // What map/imap yield for fn over items.
  template <class F, class Range>
  using map_result_t =
      std::decay_t<std::invoke_result_t<std::decay_t<F>&, std::ranges::range_value_t<Range>>>;

  Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  virtual ~Group();

  // Starts fn(args...) in a new greenlet that belongs to the group. In a Pool, first
  // waits (in FIFO order with other spawners) for a free slot; honours green::Timeout.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto spawn(F&& f, Args&&... args) {
    return spawn(SpawnOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto spawn(const SpawnOptions& options, F&& f, Args&&... args) {
    check_thread("spawn");
    return spawn_member(options, {}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  // Adopts a running greenlet until it dies (no effect if it is dead or a member). In a
  // Pool it takes a slot: see Pool::add for waiting. std::invalid_argument for a
  // greenlet of another hub.
  void add(const GreenletRef& greenlet);
  // Stops tracking a member without killing it (its slot is freed).
  void discard(const GreenletRef& greenlet);
  bool contains(const GreenletRef& greenlet) const;
  // Members (greenlets spawned or added, not yet dead).
  std::size_t count() const noexcept { return count_; }
  std::vector<GreenletRef> greenlets() const;

  // Waits until no member is alive and no submitted call is queued; false if `timeout`
  // passed first.
  bool join(std::optional<double> timeout = {});
  // Kills every member and cancels queued calls; with block, waits up to `timeout` for
  // the members to die. Called by a member, kills the others first, then itself.
  void kill(bool block = true, std::optional<double> timeout = {});
  void killone(const GreenletRef& greenlet, bool block = true, std::optional<double> timeout = {});

  // Runs fn(args...) in the group and returns its result (rethrows its exception). Called
  // from a member of a full Pool, runs it directly instead (it could never get a slot).
  template <class F, class... Args>
  decltype(auto) apply(F&& f, Args&&... args) {
    using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
    if (apply_directly()) {
      if constexpr (std::is_void_v<R>)
        std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      else
        return R(std::invoke(std::forward<F>(f), std::forward<Args>(args)...));
    } else {
      auto g = spawn(std::forward<F>(f), std::forward<Args>(args)...);
      if constexpr (std::is_void_v<R>)
        g.get();
      else
        return R(g.get());
    }
  }

  // Queues fn(args...) to run in the group as soon as a slot is free and returns its
  // result at once; never blocks. The result gets the call's exception, or
  // CancelledError if the task was killed or cancelled first.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto apply_async(F&& f, Args&&... args) {
    check_thread("apply_async");
    using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
    AsyncResult<R> result;
    auto call = [result, fn = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          std::invoke(std::move(fn), std::move(args)...);
          result.set();
        } else {
          result.set(std::invoke(std::move(fn), std::move(args)...));
        }
      } catch (const GreenletExit&) {
        result.set_exception(detail::task_cancelled("the task was killed"));
        throw;
      } catch (...) {
        result.set_exception(std::current_exception());
      }
    };
    auto member = std::make_unique<detail::GroupMember>();
    detail::GroupMember* m = member.get();
    m->cancel = [result](std::exception_ptr error) { result.set_exception(std::move(error)); };
    auto g = detail::make_greenlet(SpawnOptions{}, make_body(std::move(member), std::move(call)));
    enqueue_or_start(*m, GreenletRef(g));
    return result;
  }
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) {
    return apply_async(std::forward<F>(f), std::forward<Args>(args)...);
  }

  // fn(item) for every item, one task each; results in input order. The first exception
  // in input order is rethrown (after the tasks before it finished).
  template <class F, class Range>
  auto map(F&& f, Range&& items) {
    using R = map_result_t<F, Range>;
    std::vector<R> results;
    if constexpr (std::ranges::sized_range<Range>) results.reserve(std::ranges::size(items));
    auto iteration = imap(std::forward<F>(f), std::forward<Range>(items));
    while (auto value = iteration.next()) results.push_back(std::move(*value));
    return results;
  }
  template <class F, class Range>
  IMap<map_result_t<F, Range>> imap(F&& f, Range&& items) {
    return start_map<true>(std::forward<F>(f), std::forward<Range>(items));
  }
  template <class F, class Range>
  IMap<map_result_t<F, Range>> imap_unordered(F&& f, Range&& items) {
    return start_map<false>(std::forward<F>(f), std::forward<Range>(items));
  }

 protected:
  explicit Group(std::size_t size);  // a Pool of `size` slots
  // Takes a slot (no-op for a Group); returns false if none came in time (when allowed
  // to wait) or none was free (when not).
  bool acquire_slot(bool blocking, std::optional<double> timeout, const char* what);
  // add() with a choice of waiting for the slot; false if none was had.
  bool add_member(const GreenletRef& greenlet, bool blocking, std::optional<double> timeout);
  void release_slot() noexcept;
  void check_thread(const char* what) const;

  std::size_t size_;   // 0: unbounded (a Group)
  std::size_t free_;   // free slots
  detail::GroupSignal acquirers_;  // spawners and queued calls waiting for a slot, FIFO
  detail::GroupSignal available_;  // wait_available()
  static constexpr int kClosed = 2;  // the group was destroyed while waiting
  // Read by a greenlet woken after the group may have died (a slot handed to it, then
  // the group destroyed before it ran).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 private:
  friend struct detail::GroupMember;
  friend struct detail::QueuedTask;

  template <class F, class... Args>
  auto spawn_member(const SpawnOptions& options, std::function<void(std::exception_ptr)> cancel, F&& f,
                    Args&&... args) {
    acquire_slot(true, std::nullopt, "Pool.spawn");
    try {
      auto member = std::make_unique<detail::GroupMember>();
      detail::GroupMember* m = member.get();
      m->cancel = std::move(cancel);
      auto g = green::spawn(options, make_body(std::move(member), std::forward<F>(f), std::forward<Args>(args)...));
      admit(*m, *g.get_base());
      return g;
    } catch (...) {
      release_slot();
      throw;
    }
  }

  template <class F, class... Args>
  static auto make_body(std::unique_ptr<detail::GroupMember> member, F&& f, Args&&... args) {
    using R = std::decay_t<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>>;
    return [member = std::move(member), fn = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> R {
      member->started();
      struct Leave {
        detail::GroupMember& m;
        ~Leave() { m.leave(); }
      } leave{*member};
      return std::invoke(std::move(fn), std::move(args)...);
    };
  }

  template <bool Ordered, class F, class Range>
  IMap<map_result_t<F, Range>> start_map(F&& f, Range&& items) {
    using R = map_result_t<F, Range>;
    static_assert(!std::is_void_v<R>, "green::Group::imap/map: the function must return a value (use spawn and join)");
    check_thread("imap");
    auto state = std::make_shared<detail::MapState<R>>(Ordered);
    auto fn = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
    auto feeder = green::spawn(
        SpawnOptions{.name = "Pool.imap feeder"},
        [this, state, fn, input = std::views::all(std::forward<Range>(items))]() mutable {
          try {
            for (auto&& item : input) {
              if (state->closed) return;
              const std::size_t index = state->spawned;
              // The raw state pointer is safe: the task's function, alive until it
              // runs, holds the state.
              auto cancel = [raw = state.get(), index](std::exception_ptr error) {
                raw->deliver(index, std::nullopt, std::move(error));
              };
              spawn_member(SpawnOptions{}, cancel, [state, fn, index, value = std::decay_t<decltype(item)>(std::forward<decltype(item)>(item))]() mutable {
                std::optional<R> result;
                std::exception_ptr error;
                try {
                  result.emplace(std::invoke(*fn, std::move(value)));
                } catch (const GreenletExit&) {
                  state->deliver(index, std::nullopt, detail::task_cancelled("the task was killed"));
                  throw;
                } catch (...) {
                  error = std::current_exception();
                }
                state->deliver(index, std::move(result), std::move(error));
              });
              if (Ordered) state->outcomes.emplace_back();
              ++state->spawned;
            }
          } catch (const GreenletExit&) {
            state->input_done = true;
            state->wake();
            throw;
          } catch (...) {
            state->feed_error = std::current_exception();
          }
          state->input_done = true;
          state->wake();
        });
    return IMap<R>(std::move(state), feeder);
  }

  bool apply_directly() const;
  void admit(detail::GroupMember& member, GreenletBase& greenlet) noexcept;
  void enqueue_or_start(detail::GroupMember& member, GreenletRef greenlet);
  void member_left(detail::GroupMember& member) noexcept;

  Hub* hub_;
  detail::GroupMember* head_ = nullptr;
  detail::GroupMember* tail_ = nullptr;
  std::size_t count_ = 0;
  detail::QueuedTask* queued_head_ = nullptr;
  detail::QueuedTask* queued_tail_ = nullptr;
  std::size_t queued_ = 0;
  detail::GroupSignal empty_;  // join()
};

}  // namespace green
