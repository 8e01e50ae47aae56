#include "core/hub_registry.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/thread_state.hpp"

namespace green::detail {

// Constant-initialised with trivial destructors: usable by hubs of threads that end
// after static destruction began.
std::mutex hubs_mutex;
Hub* first_hub = nullptr;

namespace {
bool stats_at_exit() {
  static const bool enabled = [] {
    const char* text = std::getenv("GREEN_STATS");
    return text != nullptr && *text != '\0' && std::strcmp(text, "0") != 0;
  }();
  return enabled;
}
// fork(): the child has one thread, the one that forked. Its hub (if any) is the only
// one left, under the child's thread id; the others' threads do not exist there.
void lock_for_fork() { hubs_mutex.lock(); }
void unlock_in_parent() { hubs_mutex.unlock(); }
void reset_in_child() {
  ThreadState* ts = ThreadState::get_if_exists();
  Hub* mine = ts != nullptr ? ts->hub.get() : nullptr;
  first_hub = mine;
  if (mine != nullptr) {
    HubAccess::next_ref(*mine) = nullptr;
    HubAccess::set_tid(*mine, static_cast<int>(::gettid()));
  }
  hubs_mutex.unlock();
}
}  // namespace

void register_hub(Hub& hub) {
  static const int at_fork = ::pthread_atfork(lock_for_fork, unlock_in_parent, reset_in_child);
  (void)at_fork;
  {
    std::lock_guard guard(hubs_mutex);
    Hub** tail = &first_hub;
    while (*tail != nullptr) tail = &HubAccess::next_ref(**tail);
    *tail = &hub;
  }
  if (::getpid() == ::gettid()) start_dump_signal(hub);  // the main thread's hub
  start_blocking_monitor_from_env();
}

void unregister_hub(Hub& hub) noexcept {
  {
    std::lock_guard guard(hubs_mutex);
    for (Hub** link = &first_hub; *link != nullptr; link = &HubAccess::next_ref(**link)) {
      if (*link == &hub) {
        *link = HubAccess::next(hub);
        break;
      }
    }
  }
  stop_dump_signal(hub);
  if (stats_at_exit()) {
    try {
      const std::string line = "green: stats: hub on thread " + std::to_string(hub.tid()) + ": " + hub.stats().format() + "\n";
      ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
      (void)ignored;
    } catch (...) {
    }
  }
}

}  // namespace green::detail
