// Runs blocking work on the hub's ThreadPool while the calling greenlet waits cooperatively.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "green/hub.hpp"
#include "green/socket.hpp"
#include "green/thread_pool.hpp"

namespace green::detail {

// fn() on a worker of this hub's pool; SocketTimeout naming `what` when `timeout` passes
// first (the work goes on and its result is dropped).
template <class T, class F>
T offload(F fn, std::optional<double> timeout, const char* what) {
  AsyncResult<T> result = get_hub().threadpool().spawn(std::move(fn));
  if (!result.wait(timeout))
    throw SocketTimeout(std::string(what) + ": timed out after " + std::to_string(timeout.value_or(0)) + " s");
  return result.get();
}

}  // namespace green::detail
