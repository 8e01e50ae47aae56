#include "green/run_info.hpp"

#include <ev.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/hub_registry.hpp"
#include "core/thread_state.hpp"

namespace green {
namespace detail {
namespace {

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f s", seconds < 0 ? 0.0 : seconds);
  return text;
}

}  // namespace

std::string HubAccess::state_of(const GreenletBase& g, RawGreenlet* current, double now) {
  using Sched = GreenletBase::Sched;
  if (current != nullptr && current->greenlet_base() == &g) return "running";
  switch (g.sched_) {
    case Sched::queued:
      return g.started() ? "ready" : "ready, not started";
    case Sched::waiting: {
      std::string text = "waiting on ";
      text += g.waiting_on_ != nullptr ? g.waiting_on_ : "?";
      if (g.waiting_fd_ >= 0) {
        text += " (fd " + std::to_string(g.waiting_fd_);
        if (g.waiting_direction_ != nullptr) text += std::string(", ") + g.waiting_direction_;
        text += ")";
      }
      text += " for " + seconds_text(now - g.waiting_since_);
      if (g.wait_deadline_ != 0) text += ", timeout in " + seconds_text(g.wait_deadline_ - now);
      return text;
    }
    case Sched::idle:
      return g.start_timer_ != nullptr ? "not started (spawn_later)" : "suspended";
    case Sched::running:
      return "switched away from the hub (to a RawGreenlet)";
    case Sched::finished:
      return "finished";
  }
  return "?";
}

std::string HubAccess::describe(const Hub& hub) {
  const double now = ev_now(hub.loop_);
  ThreadState* ts = ThreadState::get_if_exists();
  RawGreenlet* current = ts != nullptr ? ts->current : nullptr;

  struct Entry {
    const GreenletBase* g;
    std::vector<std::size_t> children;
  };
  std::vector<Entry> entries;
  entries.push_back({hub.main_, {}});
  for (const GreenletBase* g = hub.live_head_; g != nullptr; g = g->live_next_) entries.push_back({g, {}});
  // The live list is newest first; show the oldest first.
  std::reverse(entries.begin() + 1, entries.end());
  std::unordered_map<std::uint64_t, std::size_t> by_id;
  for (std::size_t i = 0; i < entries.size(); ++i) by_id.emplace(entries[i].g->id_, i);
  std::vector<std::size_t> roots;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const GreenletBase& g = *entries[i].g;
    auto parent = i == 0 ? by_id.end() : by_id.find(g.spawner_id_);
    if (parent != by_id.end() && parent->second != i)
      entries[parent->second].children.push_back(i);
    else
      roots.push_back(i);
  }

  std::string text = "hub on thread " + std::to_string(hub.tid_) + ": " + hub.stats().format() + "\n";
  text += "  the hub: " + std::string(current == &hub ? "running its loop" : "waiting for the greenlet it runs") + "\n";
  // Depth first, iteratively: spawn chains can be long.
  std::vector<std::pair<std::size_t, int>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 1);
  while (!stack.empty()) {
    auto [index, depth] = stack.back();
    stack.pop_back();
    const GreenletBase& g = *entries[index].g;
    text.append(2 * static_cast<std::size_t>(depth), ' ');
    text += "'" + g.name() + "' (id " + std::to_string(g.id_) + "): " + state_of(g, current, now);
    if (index != 0) {
      text += "; age " + seconds_text(now - g.spawned_at_);
      if (g.spawner_id_ == 0)
        text += "; spawned by the hub";
      else if (!by_id.contains(g.spawner_id_))
        text += "; spawned by id " + std::to_string(g.spawner_id_) + " (dead)";
    }
    text += "\n";
    const auto& children = entries[index].children;
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.emplace_back(*it, depth + 1);
  }
  return text;
}

namespace {
// A hub's answer to "describe yourself", shared with the callback that may outlive the wait.
struct Answer {
  std::mutex mutex;
  std::condition_variable done;
  bool ready = false;
  std::string text;
};

ev_signal dump_watcher;
Hub* dump_hub = nullptr;

int parse_signal(const char* text) {
  if (std::strcmp(text, "1") == 0 || std::strcmp(text, "USR1") == 0 || std::strcmp(text, "SIGUSR1") == 0)
    return SIGUSR1;
  if (std::strcmp(text, "USR2") == 0 || std::strcmp(text, "SIGUSR2") == 0) return SIGUSR2;
  char* end = nullptr;
  const long n = std::strtol(text, &end, 10);
  if (end != text && *end == '\0' && n > 1 && n < NSIG) return static_cast<int>(n);
  return 0;
}
}  // namespace

void start_dump_signal(Hub& hub) {
  const char* text = std::getenv("GREEN_DUMP_SIGNAL");
  if (text == nullptr || *text == '\0' || std::strcmp(text, "0") == 0 || dump_hub != nullptr) return;
  const int signo = parse_signal(text);
  if (signo == 0) {
    std::fprintf(stderr, "green: GREEN_DUMP_SIGNAL must be USR1, USR2 or a signal number, got '%s'; ignored\n", text);
    return;
  }
  ev_signal_init(&dump_watcher, [](struct ev_loop*, ev_signal*, int) { print_run_info(); }, signo);
  ev_signal_start(hub.loop(), &dump_watcher);
  ev_unref(hub.loop());  // a dump signal alone does not keep the loop alive
  dump_hub = &hub;
}

void stop_dump_signal(Hub& hub) noexcept {
  if (dump_hub != &hub) return;
  ev_ref(hub.loop());
  ev_signal_stop(hub.loop(), &dump_watcher);
  dump_hub = nullptr;
}

}  // namespace detail

std::string format_run_info() {
  using detail::HubAccess;
  detail::ThreadState* ts = detail::ThreadState::get_if_exists();
  const Hub* mine = ts != nullptr ? ts->hub.get() : nullptr;

  // Ask every other hub first, so they all work on their answers at once.
  struct Asked {
    int tid;
    HubStats stats;
    std::shared_ptr<detail::Answer> answer;  // null: this thread's hub
  };
  std::vector<Asked> asked;
  detail::for_each_hub([&](Hub& hub) {
    if (&hub == mine) {
      asked.push_back({hub.tid(), {}, nullptr});
      return;
    }
    auto answer = std::make_shared<detail::Answer>();
    hub.call_threadsafe([answer, &hub] {
      std::string text = HubAccess::describe(hub);
      std::lock_guard guard(answer->mutex);
      answer->text = std::move(text);
      answer->ready = true;
      answer->done.notify_all();
    });
    asked.push_back({hub.tid(), hub.stats(), std::move(answer)});
  });

  std::string text = "green run info: pid " + std::to_string(::getpid()) + ", " + std::to_string(asked.size()) +
                     (asked.size() == 1 ? " hub\n" : " hubs\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (Asked& a : asked) {
    if (a.answer == nullptr) {
      text += HubAccess::describe(*mine);
      continue;
    }
    std::unique_lock lock(a.answer->mutex);
    if (a.answer->done.wait_until(lock, deadline, [&] { return a.answer->ready; })) {
      text += a.answer->text;
    } else {
      text += "hub on thread " + std::to_string(a.tid) + ": " + a.stats.format() + "\n";
      text += "  did not answer within 1 s: a greenlet keeps it from its loop (see GREEN_MAX_BLOCKING_MS)\n";
    }
  }
  return text;
}

void print_run_info() {
  const std::string text = format_run_info();
  // write(2): callable from the hub whatever state stdio is in.
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0 && errno != EINTR) break;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
}

}  // namespace green
