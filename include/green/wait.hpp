// green/wait.hpp: concurrent.futures.wait and as_completed over greenlets and results.
//
// wait(objects, timeout, return_when) blocks until the condition holds or `timeout`
// passes and returns {done, not_done}, each in the order the objects were given:
//   ALL_COMPLETED    every object is ready;
//   FIRST_COMPLETED  at least one is ready;
//   FIRST_EXCEPTION  one failed (a greenlet died with an exception, a result got one),
//                    or else every object is ready.
// as_completed(objects, timeout) yields each object as it becomes ready (the ready ones
// first, in the order given) and throws TimeoutError if `timeout` passes before all were
// yielded. Objects are Greenlet<T>, GreenletRef or AsyncResult<T> handles (anything
// iwait takes), all of one type per call; to mix greenlets and results of different
// types, pass std::vector<Waitable>. Both build on iwait.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "green/errors.hpp"
#include "green/iwait.hpp"

namespace green {

enum class ReturnWhen { ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION };
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;

// Any greenlet or result handle, type-erased, so one wait or as_completed can mix them:
//   std::vector<green::Waitable> objects{greenlet, int_result, string_result};
class Waitable {
 public:
  template <class H>
    requires(!std::is_same_v<std::decay_t<H>, Waitable> && requires(const H& h) {
      h.linkable();
      h.ready();
      h.exception();
    })
  Waitable(H handle) : self_(std::make_shared<const Model<H>>(std::move(handle))) {}

  Linkable& linkable() const noexcept { return self_->linkable(); }
  bool ready() const noexcept { return self_->ready(); }
  std::exception_ptr exception() const noexcept { return self_->exception(); }
  // The handle it was made from, or nullptr if it was made from another type.
  template <class H>
  const H* get_if() const noexcept {
    auto* model = dynamic_cast<const Model<H>*>(self_.get());
    return model != nullptr ? &model->handle : nullptr;
  }
  friend bool operator==(const Waitable& a, const Waitable& b) noexcept { return &a.linkable() == &b.linkable(); }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual Linkable& linkable() const noexcept = 0;
    virtual bool ready() const noexcept = 0;
    virtual std::exception_ptr exception() const noexcept = 0;
  };
  template <class H>
  struct Model final : Concept {
    explicit Model(H h) : handle(std::move(h)) {}
    Linkable& linkable() const noexcept override { return handle.linkable(); }
    bool ready() const noexcept override { return handle.ready(); }
    std::exception_ptr exception() const noexcept override { return handle.exception(); }
    H handle;
  };
  std::shared_ptr<const Concept> self_;
};

template <class T>
struct DoneAndNotDone {
  std::vector<T> done;
  std::vector<T> not_done;
};

namespace detail {
template <class T>
bool is_ready(const T& object) {
  if constexpr (std::is_pointer_v<T>)
    return object->ready();
  else
    return object.ready();
}
template <class T>
bool failed(const T& object) {
  if constexpr (requires { object.exception(); })
    return object.ready() && object.exception() != nullptr;
  else
    return false;
}
}  // namespace detail

template <class T>
DoneAndNotDone<T> wait(std::vector<T> objects, std::optional<double> timeout = {},
                       ReturnWhen return_when = ALL_COMPLETED) {
  bool stop = false;
  for (const T& object : objects) {
    if (return_when == FIRST_COMPLETED && detail::is_ready(object)) stop = true;
    if (return_when == FIRST_EXCEPTION && detail::failed(object)) stop = true;
  }
  if (!stop && !objects.empty()) {
    for (const T& object : IWait<T>(objects, timeout)) {
      if (return_when == FIRST_COMPLETED) break;
      if (return_when == FIRST_EXCEPTION && detail::failed(object)) break;
    }
  }
  DoneAndNotDone<T> result;
  for (T& object : objects) (detail::is_ready(object) ? result.done : result.not_done).push_back(std::move(object));
  return result;
}

template <class Range>
  requires(!std::is_same_v<std::decay_t<Range>, std::vector<std::decay_t<decltype(*std::begin(std::declval<Range&>()))>>>)
auto wait(const Range& objects, std::optional<double> timeout = {}, ReturnWhen return_when = ALL_COMPLETED) {
  using T = std::decay_t<decltype(*std::begin(objects))>;
  return wait(std::vector<T>(std::begin(objects), std::end(objects)), timeout, return_when);
}

template <class T>
DoneAndNotDone<T> wait(std::initializer_list<T> objects, std::optional<double> timeout = {},
                       ReturnWhen return_when = ALL_COMPLETED) {
  return wait(std::vector<T>(objects), timeout, return_when);
}

// The iteration as_completed returns.
template <class T>
class AsCompleted {
 public:
  AsCompleted(std::vector<T> objects, std::optional<double> timeout)
      : total_(objects.size()), timeout_(timeout), wait_(std::move(objects), timeout) {}

  // The next ready object; nothing once all were yielded; TimeoutError if the timeout
  // passed first.
  std::optional<T> next() {
    std::optional<T> object = wait_.next();
    if (object) {
      ++yielded_;
    } else if (yielded_ < total_) {
      throw TimeoutError("green: as_completed: " + std::to_string(total_ - yielded_) + " of " +
                             std::to_string(total_) + " objects were not ready after " +
                             detail::format_seconds(*timeout_) + " s",
                         nullptr);
    }
    return object;
  }

  using iterator = detail::PullIterator<AsCompleted, T>;
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

 private:
  std::size_t total_;
  std::size_t yielded_ = 0;
  std::optional<double> timeout_;
  IWait<T> wait_;
};

template <class Range>
auto as_completed(const Range& objects, std::optional<double> timeout = {}) {
  using T = std::decay_t<decltype(*std::begin(objects))>;
  return AsCompleted<T>(std::vector<T>(std::begin(objects), std::end(objects)), timeout);
}

template <class T>
AsCompleted<T> as_completed(std::initializer_list<T> objects, std::optional<double> timeout = {}) {
  return AsCompleted<T>(std::vector<T>(objects), timeout);
}

}  // namespace green
