// Threads green itself parks (thread pool workers waiting for jobs). A hub deciding
// whether another OS thread could still wake it ignores them (see Hub::wait_for_events).
#pragma once

#include <atomic>

namespace green::detail {
inline std::atomic<int> idle_green_threads{0};
}  // namespace green::detail
