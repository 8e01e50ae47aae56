#include "green/signal.hpp"

#include <ev.h>

#include <csignal>
#include <mutex>
#include <stdexcept>
#include <string>

#include "green/greenlet.hpp"
#include "green/hub.hpp"

namespace green {
namespace {
// libev lets one loop at a time watch a signal; say so instead of tripping its assert.
std::mutex owners_mutex;
struct Owner {
  Hub* hub = nullptr;
  int count = 0;
} owners[NSIG];
}  // namespace

struct SignalHandler::Watch {
  ev_signal watcher;
  Hub* hub;
  std::function<void()> callback;
};

SignalHandler::SignalHandler() noexcept = default;
SignalHandler::SignalHandler(SignalHandler&&) noexcept = default;
SignalHandler& SignalHandler::operator=(SignalHandler&& other) noexcept {
  if (this != &other) {
    cancel();
    watch_ = std::move(other.watch_);
  }
  return *this;
}
SignalHandler::~SignalHandler() { cancel(); }

int SignalHandler::signum() const noexcept { return watch_ ? watch_->watcher.signum : 0; }

void SignalHandler::cancel() noexcept {
  if (!watch_) return;
  struct ev_loop* loop = watch_->hub->loop();
  ev_ref(loop);  // undo the unref of start
  ev_signal_stop(loop, &watch_->watcher);
  {
    std::lock_guard guard(owners_mutex);
    Owner& owner = owners[watch_->watcher.signum];
    if (--owner.count == 0) owner.hub = nullptr;
  }
  watch_.reset();
}

SignalHandler signal_handler(int signum, std::function<void()> callback) {
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP)
    throw std::invalid_argument("green::signal_handler: signal " + std::to_string(signum) + " cannot be handled");
  if (!callback) throw std::invalid_argument("green::signal_handler: the callback is empty");
  Hub& hub = get_hub();
  SignalHandler handler;
  handler.watch_ = std::make_unique<SignalHandler::Watch>();
  SignalHandler::Watch& w = *handler.watch_;
  w.hub = &hub;
  w.callback = std::move(callback);
  ev_signal_init(&w.watcher, [](struct ev_loop*, ev_signal* watcher, int) {
    auto& watch = *static_cast<SignalHandler::Watch*>(watcher->data);
    // Runs in the hub: the callback gets a greenlet of its own, where it may block.
    spawn(SpawnOptions{"signal_handler " + std::to_string(watcher->signum)}, [fn = watch.callback] { fn(); });
  }, signum);
  w.watcher.data = &w;
  {
    std::lock_guard guard(owners_mutex);
    Owner& owner = owners[signum];
    if (owner.hub != nullptr && owner.hub != &hub)
      throw std::logic_error("green::signal_handler: signal " + std::to_string(signum) +
                             " is already watched by the hub of another thread");
    owner.hub = &hub;
    ++owner.count;
  }
  ev_signal_start(hub.loop(), &w.watcher);
  ev_unref(hub.loop());  // a signal watcher alone does not keep the hub alive
  return handler;
}

}  // namespace green
