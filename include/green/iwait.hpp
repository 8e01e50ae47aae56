// green/iwait.hpp: iterate over waitable objects in the order they become ready.
//
// iwait(objects, timeout) yields each object (a Greenlet handle, or a pointer to any
// Linkable such as Event*, or an AsyncResult<T>) once it is ready: already-ready ones first,
// in the order given, then the rest as they finish. `timeout` bounds the whole iteration;
// when it passes, the iteration simply ends early. gevent's iwait, concurrent.futures'
// as_completed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#include "green/greenlet.hpp"
#include "green/linkable.hpp"

namespace green {

namespace detail {
template <class T>
Linkable& linkable_of(const T& object) {
  if constexpr (requires { object.linkable(); })
    return object.linkable();
  else if constexpr (std::is_pointer_v<T>)
    return *object;
  else
    return object.get();  // std::reference_wrapper
}
}  // namespace detail

namespace detail {
// The input iterator of a range whose owner hands out its items one by one: owner.next()
// returns std::optional<T>, empty at the end (iwait, as_completed, imap).
template <class Owner, class T>
class PullIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  PullIterator() = default;
  explicit PullIterator(Owner* owner) : owner_(owner) { ++*this; }
  T& operator*() const { return *current_; }
  T* operator->() const { return &*current_; }
  PullIterator& operator++() {
    current_.reset();
    current_ = owner_->next();
    if (!current_) owner_ = nullptr;
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const PullIterator& a, const PullIterator& b) { return a.owner_ == b.owner_; }

 private:
  Owner* owner_ = nullptr;
  mutable std::optional<T> current_;
};
}  // namespace detail

template <class T>
class IWait {
 public:
  IWait(std::vector<T> objects, std::optional<double> timeout)
      : objects_(std::move(objects)), nodes_(std::make_unique<Node[]>(objects_.size())) {
    if (timeout)
      deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*timeout));
    ready_.reserve(objects_.size());
    for (std::size_t i = 0; i < objects_.size(); ++i) {
      nodes_[i].owner = this;
      nodes_[i].index = i;
      if (!detail::linkable_of(objects_[i]).link_unless_ready(nodes_[i])) {
        std::lock_guard guard(lock_);
        ready_.push_back(i);
      }
    }
  }
  IWait(const IWait&) = delete;
  IWait& operator=(const IWait&) = delete;
  ~IWait() {
    for (std::size_t i = 0; i < objects_.size(); ++i) detail::linkable_of(objects_[i]).unlink(nodes_[i]);
  }

  // The next ready object, or nothing once all were yielded or the timeout passed.
  std::optional<T> next() {
    for (;;) {
      Waiter waiter("iwait");
      {
        std::lock_guard guard(lock_);
        if (taken_ < ready_.size()) return objects_[ready_[taken_++]];
        if (taken_ == objects_.size()) return std::nullopt;
        waiter_ = &waiter;
      }
      struct Clear {
        IWait* self;
        ~Clear() {
          std::lock_guard guard(self->lock_);
          self->waiter_ = nullptr;
        }
      } clear{this};
      std::optional<double> left;
      if (deadline_) {
        left = std::chrono::duration<double>(*deadline_ - std::chrono::steady_clock::now()).count();
        if (*left <= 0) return std::nullopt;
      }
      if (waiter.wait(left) == Waiter::kTimedOut) {
        std::lock_guard guard(lock_);
        if (taken_ == ready_.size()) return std::nullopt;
      }
    }
  }

  using iterator = detail::PullIterator<IWait, T>;
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  struct Node final : LinkNode {
    IWait* owner = nullptr;
    std::size_t index = 0;
    bool notify(int) noexcept override {
      std::lock_guard guard(owner->lock_);
      owner->ready_.push_back(index);  // reserved: never allocates
      if (owner->waiter_ != nullptr) owner->waiter_->notify(Waiter::kNotified);
      return true;
    }
  };

  std::vector<T> objects_;
  std::unique_ptr<Node[]> nodes_;
  std::vector<std::size_t> ready_;
  std::size_t taken_ = 0;
  Waiter* waiter_ = nullptr;
  detail::SpinLock lock_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

template <class Range>
auto iwait(const Range& objects, std::optional<double> timeout = {}) {
  using T = std::decay_t<decltype(*std::begin(objects))>;
  return IWait<T>(std::vector<T>(std::begin(objects), std::end(objects)), timeout);
}

template <class T>
IWait<T> iwait(std::initializer_list<T> objects, std::optional<double> timeout = {}) {
  return IWait<T>(std::vector<T>(objects), timeout);
}

}  // namespace green
