// green/errors.hpp: the exceptions green throws.
//
// GreenletExit is deliberately not a std::exception: like gevent's GreenletExit (a
// BaseException), a kill must not be swallowed by a `catch (const std::exception&)` that
// was written for ordinary errors. Catch it only to clean up, then let it go.
#pragma once

#include <stdexcept>
#include <string>

namespace green {

class Timeout;

// Delivered to a greenlet by kill(); a greenlet that lets it escape ends normally-killed.
class GreenletExit {
 public:
  const char* what() const noexcept { return "green::GreenletExit: greenlet was killed"; }
};

// Thrown at the switch point of the greenlet whose Timeout expired.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError(const std::string& message, const Timeout* source)
      : std::runtime_error(message), source_(source) {}
  // True when `timeout` is the one that fired: lets nested scopes re-throw foreign timeouts.
  bool from(const Timeout& timeout) const noexcept { return source_ == &timeout; }

 private:
  const Timeout* source_;
};

// Thrown by a wait that could never end: nothing is ready, no watcher is active and no
// other thread could wake the waiter. The message names what was waited on.
class LoopExit : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace green
