// Runs blocking work on a real OS thread while the calling greenlet waits cooperatively.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "green/async_result.hpp"
#include "green/hub.hpp"
#include "green/socket.hpp"

namespace green::detail {

// fn() on another thread; SocketTimeout naming `what` when `timeout` passes first (the work
// goes on and its result is dropped).
template <class T, class F>
T offload(F fn, std::optional<double> timeout, const char* what) {
  AsyncResult<T> result;
  {
    RealThreadScope real;  // a real thread even under the patch layer's --threads
    std::thread([result, fn = std::move(fn)]() mutable {
      try {
        result.set(fn());
      } catch (...) {
        result.set_exception(std::current_exception());
      }
    }).detach();
  }
  if (!result.wait(timeout))
    throw SocketTimeout(std::string(what) + ": timed out after " + std::to_string(timeout.value_or(0)) + " s");
  return result.get();
}

}  // namespace green::detail
